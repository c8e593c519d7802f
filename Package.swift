// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    products: [
        // For the benchmark packages under Benchmarks/, which depend on this one by path.
        .library(name: "Inventory", targets: ["Inventory"]),
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

        // Inventory: arrayjson/ndjson parsers and the longest-prefix-match table that maps
        // peers to hostgroup and domain. Pure; the HTTP fetch lives with the agent.
        .target(name: "Inventory", dependencies: ["NetAddress"]),
        .testTarget(name: "InventoryTests", dependencies: ["Inventory", "NetAddress"]),
    ]
)
