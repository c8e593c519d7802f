// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "planet-federator", targets: ["planet-federator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Addresses and networks shared by every module: one 16-byte value type for IPv4 and IPv6.
        .target(name: "NetAddress"),
        .testTarget(name: "NetAddressTests", dependencies: ["NetAddress"]),

        // Prometheus text exposition: writer (and parser for scraped targets).
        .target(name: "Exposition"),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"]),

        // Go-compatible command lines (flags, durations) and logrus-style logging for both executables.
        .target(name: "CommandLineSupport", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CommandLineSupportTests", dependencies: ["CommandLineSupport"]),

        // Federator: Prometheus query_range -> InfluxDB line protocol, on a cron schedule.
        .target(name: "Federator", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "FederatorTests", dependencies: ["Federator"]),
        .executableTarget(name: "planet-federator", dependencies: [
            "CommandLineSupport", "Federator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
