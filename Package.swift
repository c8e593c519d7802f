// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    products: [
        // For the benchmark package under Benchmarks/sockets.
        .library(name: "Sockets", targets: ["Sockets"]),
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

        // Socket table (netlink sock_diag, /proc/net), owning processes, dependency metrics.
        .target(
            name: "Sockets",
            dependencies: ["NetAddress", "Exposition", .product(name: "Atomics", package: "swift-atomics")]),
        .testTarget(
            name: "SocketsTests",
            dependencies: ["Sockets", "NetAddress", "Exposition", .product(name: "Atomics", package: "swift-atomics")]),
    ]
)
