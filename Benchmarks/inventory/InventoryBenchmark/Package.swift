// swift-tools-version:6.1
import PackageDescription

// Kept out of the main package so benchmarks never enter the agent's build graph. One
// directory deeper than Benchmarks/inventory so its package identity never equals that of
// a checkout directory named "inventory".
let package = Package(
    name: "inventory-benchmark",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "planet-exporter", path: "../../.."),
    ],
    targets: [
        .executableTarget(
            name: "InventoryBenchmark",
            dependencies: [.product(name: "Inventory", package: "planet-exporter")]
        ),
    ]
)
