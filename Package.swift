// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
    ]
)
