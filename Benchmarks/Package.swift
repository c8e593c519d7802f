// swift-tools-version:6.1
// Micro-benchmarks for the capture hot path (decoder, ring, series table) and the state file, kept
// out of the main package graph. Run with `swift run -c release DecodeBenchmark` (or
// TableBenchmark, StateBenchmark) from this folder.
import PackageDescription

let package = Package(
    name: "planet-exporter-benchmarks",
    dependencies: [
        .package(name: "planet-exporter", path: ".."),
    ],
    targets: [
        // A malloc counter (interposes malloc and friends) and the C reference decoder.
        .target(name: "CBenchmarkSupport"),
        .executableTarget(
            name: "StateBenchmark",
            dependencies: [
                .product(name: "Diagnostics", package: "planet-exporter"),
                .product(name: "NetAddress", package: "planet-exporter"),
                .product(name: "Traffic", package: "planet-exporter"),
            ]
        ),
        .executableTarget(
            name: "TableBenchmark",
            dependencies: [
                .product(name: "NetAddress", package: "planet-exporter"),
                .product(name: "Traffic", package: "planet-exporter"),
            ]
        ),
        .executableTarget(
            name: "DecodeBenchmark",
            dependencies: [
                "CBenchmarkSupport",
                .product(name: "PacketDecoding", package: "planet-exporter"),
                .product(name: "Ring", package: "planet-exporter"),
            ]
        ),
    ]
)
