// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    products: [
        // For the packages beside this one (Fuzz/, Benchmarks/), which can use products only.
        .library(name: "PacketDecoding", targets: ["PacketDecoding"]),
        .library(name: "Ring", targets: ["Ring"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        // Addresses and networks shared by every module: one 16-byte value type for IPv4 and IPv6.
        .target(name: "NetAddress"),
        .testTarget(name: "NetAddressTests", dependencies: ["NetAddress"]),

        // Prometheus text exposition: writer (and parser for scraped targets).
        .target(name: "Exposition"),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"]),

        // Captured bytes -> PacketSummary; pure Swift, never imports libpcap.
        .target(name: "PacketDecoding", dependencies: ["NetAddress"]),
        .testTarget(name: "PacketDecodingTests", dependencies: ["PacketDecoding"]),

        // Lock-free single-producer single-consumer ring between capture and aggregation.
        .target(name: "Ring", dependencies: [.product(name: "Atomics", package: "swift-atomics")]),
        .testTarget(name: "RingTests", dependencies: ["Ring"]),
    ]
)
