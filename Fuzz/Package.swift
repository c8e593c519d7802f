// swift-tools-version:6.1
// libFuzzer targets for the parsers of outside input, kept out of the main package graph
// because they only build with the fuzzer sanitizer. Build and run one with
// `Fuzz/run.sh SECONDS TARGET` (see Fuzz/README.md).
import PackageDescription

/// A libFuzzer target: libFuzzer supplies main(), so the entry point is a plain function.
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: products.map { .product(name: $0, package: "planet-exporter") },
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    )
}

let package = Package(
    name: "planet-exporter-fuzz",
    dependencies: [
        .package(name: "planet-exporter", path: ".."),
    ],
    targets: [
        fuzzTarget("FuzzPacketDecoder", ["PacketDecoding"]),
        fuzzTarget("FuzzDNSResponse", ["PacketDecoding"]),
        fuzzTarget("FuzzExposition", ["Exposition"]),
        fuzzTarget("FuzzInventory", ["Inventory"]),
        fuzzTarget("FuzzSockDiag", ["Sockets"]),
        fuzzTarget("FuzzProcNet", ["Sockets"]),
        fuzzTarget("FuzzPrometheusMatrix", ["Federator"]),
    ]
)
