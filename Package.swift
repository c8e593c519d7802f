// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "planet-exporter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "planet-exporter", targets: ["planet-exporter"]),
        .executable(name: "planet-federator", targets: ["planet-federator"]),
        .executable(name: "planet-federator-influxdb-to-bq", targets: ["planet-federator-influxdb-to-bq"]),
        // For the packages beside this one (Fuzz/, Benchmarks/), which can use products only.
        .library(name: "Inventory", targets: ["Inventory"]),
        .library(name: "PacketDecoding", targets: ["PacketDecoding"]),
        .library(name: "Ring", targets: ["Ring"]),
        .library(name: "Sockets", targets: ["Sockets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // A seeded random generator shared by the randomized tests.
        .target(name: "TestSupport"),

        // Addresses and networks shared by every module: one 16-byte value type for IPv4 and IPv6.
        .target(name: "NetAddress"),
        .testTarget(name: "NetAddressTests", dependencies: ["NetAddress"]),

        // Prometheus text exposition: writer (and parser for scraped targets).
        .target(name: "Exposition"),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"]),

        // Captured bytes -> PacketSummary; pure Swift, never imports libpcap.
        .target(name: "PacketDecoding", dependencies: ["NetAddress"]),
        .testTarget(name: "PacketDecodingTests", dependencies: ["TestSupport", "PacketDecoding"]),

        // Lock-free single-producer single-consumer ring between capture and aggregation.
        .target(name: "Ring", dependencies: [.product(name: "Atomics", package: "swift-atomics")]),
        .testTarget(name: "RingTests", dependencies: ["Ring"]),
    
        // libpcap through pkg-config, wrapped once; only Capture imports it.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),

        // Counting rules, bounded series table, aggregator thread.
        .target(name: "Traffic", dependencies: ["NetAddress", "PacketDecoding", "Ring", "Sockets"]),
        .testTarget(name: "TrafficTests", dependencies: ["TestSupport", "Traffic", "Sockets"]),

        // pcap sources (live interfaces, files), one reading thread per source feeding a ring.
        .target(name: "Capture", dependencies: ["CPcap", "PacketDecoding", "Ring", "NetAddress"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Traffic", "PacketDecoding"]),

        // Metric rendering, replay, and (with the agent) the HTTP endpoint and tasks.
        .target(name: "Exporter", dependencies: [
            "Capture", "Traffic", "Exposition", "NetAddress", "PacketDecoding", "Sockets", "Inventory", "Migration",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        ]),
        .testTarget(name: "ExporterTests", dependencies: [
            "Exporter", .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),

        .executableTarget(name: "planet-exporter", dependencies: [
            "Exporter", "Capture", "Traffic", "NetAddress", "CommandLineSupport", "Inventory",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Go-compatible command lines (flags, durations) and logrus-style logging for both executables.
        .target(name: "CommandLineSupport", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CommandLineSupportTests", dependencies: ["CommandLineSupport"]),

        // Socket table (netlink sock_diag, /proc/net), owning processes, dependency metrics.
        .target(name: "Sockets", dependencies: [
            "NetAddress", "Exposition", .product(name: "Atomics", package: "swift-atomics"),
        ]),
        .testTarget(name: "SocketsTests", dependencies: [
            "TestSupport", "Sockets", "NetAddress", "Exposition", .product(name: "Atomics", package: "swift-atomics"),
        ]),

        // Inventory: arrayjson/ndjson parsers and the longest-prefix-match table that maps
        // peers to hostgroup and domain. Pure; the HTTP fetch lives with the agent.
        .target(name: "Inventory", dependencies: ["NetAddress"]),
        .testTarget(name: "InventoryTests", dependencies: ["TestSupport", "Inventory", "NetAddress"]),

        // darkstat and ebpf_exporter scrapes converted to this agent's traffic families,
        // so a fleet can move from the Go original host by host.
        .target(name: "Migration", dependencies: ["Exposition", "NetAddress", "Traffic"]),
        .testTarget(name: "MigrationTests", dependencies: ["Migration", "Exposition", "NetAddress", "Traffic"]),

        // Federator: Prometheus query_range -> InfluxDB line protocol, on a cron schedule.
        .target(name: "Federator", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // RS256 for service-account JWTs and SHA-256 for insertIds (BigQuery writer).
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .testTarget(name: "FederatorTests", dependencies: [
            "Federator",
            // A local OAuth token endpoint and BigQuery stand-in for the authentication tests.
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "planet-federator", dependencies: [
            "CommandLineSupport", "Federator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // planet-federator-influxdb-to-bq: hourly traffic and daily dependency tables from the
        // federated InfluxDB data into BigQuery; the analyses and the writer live in Federator.
        .executableTarget(name: "planet-federator-influxdb-to-bq", dependencies: [
            "CommandLineSupport", "Federator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
