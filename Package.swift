// swift-tools-version:6.0
// 6.0: the first tools version whose targets build in the Swift 6 language mode, which the
// code is written for (strict concurrency checking); the manifest uses nothing later.
import Foundation
import PackageDescription

/// PLANET_EXPORTER_VERSION and PLANET_EXPORTER_REVISION from the environment of `swift build`
/// as C string defines for CBuildInfo; the version otherwise from the VERSION file (the one
/// place it is written), the revision otherwise "unknown". SwiftPM evaluates the manifest
/// again when they change, and the changed define rebuilds the one C file.
func buildInfoDefines() -> [CSetting] {
    let versionFile = try? String(contentsOfFile: Context.packageDirectory + "/VERSION", encoding: .utf8)
    return [("PLANET_EXPORTER_VERSION", Context.environment["PLANET_EXPORTER_VERSION"]
                ?? versionFile?.trimmingCharacters(in: .whitespacesAndNewlines)),
     ("PLANET_EXPORTER_REVISION", Context.environment["PLANET_EXPORTER_REVISION"])].compactMap { name, value in
        guard let value, !value.isEmpty else { return nil }
        // A C string literal: quotes and backslashes escaped.
        let escaped = value.flatMap { $0 == "\"" || $0 == "\\" ? ["\\", $0] : [$0] }
        return .define(name, to: "\"" + String(escaped) + "\"")
    }
}

// Modules from the leaves up; a module imports only modules listed before it
// (scripts/check_module_graph.py checks every import against this order).
let package = Package(
    name: "planet-exporter",
    // The agent captures and reads sockets through Linux interfaces (netlink, /proc,
    // capabilities) and builds on Linux only. On macOS the federator's modules need
    // Synchronization's Mutex and Atomic, which macOS 15 brought.
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "planet-exporter", targets: ["planet-exporter"]),
        .executable(name: "planet-federator", targets: ["planet-federator"]),
        .executable(name: "planet-federator-influxdb-to-bq", targets: ["planet-federator-influxdb-to-bq"]),
        // For the packages beside this one (Fuzz/, Benchmarks/), which can use products only.
        .library(name: "Diagnostics", targets: ["Diagnostics"]),
        .library(name: "Exposition", targets: ["Exposition"]),
        .library(name: "Federator", targets: ["Federator"]),
        .library(name: "Inventory", targets: ["Inventory"]),
        .library(name: "PacketDecoding", targets: ["PacketDecoding"]),
        .library(name: "Ring", targets: ["Ring"]),
        .library(name: "Sockets", targets: ["Sockets"]),
        .library(name: "NetAddress", targets: ["NetAddress"]),
        .library(name: "Traffic", targets: ["Traffic"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // A seeded random generator shared by the randomized tests.
        .target(name: "TestSupport"),

        // How failures are told: system calls wrapped once (EINTR retried, a typed error
        // naming the call), and outside text quoted for one-line messages.
        .target(name: "Diagnostics"),
        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics"]),

        // The vocabulary every module shares: addresses (one 16-byte value for IPv4 and
        // IPv6), networks, port sets, direction, and this host's interfaces and addresses.
        .target(name: "NetAddress", dependencies: ["Diagnostics"]),
        .testTarget(name: "NetAddressTests", dependencies: ["TestSupport", "NetAddress"]),

        // Captured bytes -> PacketSummary, and a capture source's counters; pure Swift,
        // never imports libpcap.
        .target(name: "PacketDecoding", dependencies: ["NetAddress"]),
        .testTarget(name: "PacketDecodingTests", dependencies: ["TestSupport", "PacketDecoding", "NetAddress"]),

        // The CPU's prefetch hint, which Swift cannot spell (header only, nothing linked).
        .systemLibrary(name: "CPrefetch"),

        // Lock-free single-producer single-consumer ring between capture and aggregation.
        .target(name: "Ring", dependencies: [.product(name: "Atomics", package: "swift-atomics")]),
        .testTarget(name: "RingTests", dependencies: ["Ring"]),

        // Prometheus text exposition: writer, and parser for scraped targets.
        .target(name: "Exposition", dependencies: ["Diagnostics"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"]),

        // The inventory: arrayjson/ndjson parsers, the longest-prefix-match table, and the
        // one hostgroup/domain model every label comes from. Pure; fetching is the agent's.
        .target(name: "Inventory", dependencies: ["NetAddress", "Diagnostics"]),
        .testTarget(name: "InventoryTests", dependencies: ["TestSupport", "Inventory", "NetAddress"]),

        // The socket table (netlink sock_diag, /proc/net), owning processes, and the
        // upstream/downstream classification. Collects; never renders.
        .target(name: "Sockets", dependencies: ["NetAddress", "Diagnostics"]),
        .testTarget(name: "SocketsTests", dependencies: ["TestSupport", "Sockets", "NetAddress"]),

        // darkstat and ebpf_exporter scrapes converted to traffic records, so a fleet can
        // move from the Go original host by host.
        .target(name: "Migration", dependencies: ["Exposition", "NetAddress", "Diagnostics"]),
        .testTarget(name: "MigrationTests", dependencies: ["TestSupport", "Migration", "Exposition", "NetAddress"]),

        // Counting rules, bounded series table, aggregator thread. What it needs from the
        // socket table comes as its own EndpointOwners value, filled by the agent.
        .target(name: "Traffic", dependencies: ["NetAddress", "PacketDecoding", "Ring", "Diagnostics", "CPrefetch"]),
        .testTarget(name: "TrafficTests", dependencies: ["TestSupport", "Traffic", "NetAddress", "PacketDecoding", "Ring"]),

        // libpcap through pkg-config, wrapped once; only Capture imports it.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),

        // pcap sources (live interfaces, files), one reading thread per source feeding a ring.
        .target(name: "Capture", dependencies: ["CPcap", "PacketDecoding", "NetAddress", "Ring", "Diagnostics"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Traffic", "PacketDecoding", "NetAddress"]),

        // The HTTP listener the agent and the federator share (Hummingbird): exporter-toolkit's
        // web config (TLS through swift-nio-ssl, bcrypt basic auth with verified credentials
        // remembered as HMACs (swift-crypto), YAML through Yams), re-read when it changes, and
        // the limits that keep a client from holding the server.
        .target(name: "Listener", dependencies: [
            "Diagnostics", "NetAddress", "Exposition",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Snapshots -> exposition: traffic, dependencies, self metrics and migration
        // families, one collector per file, and the registry that renders a scrape.
        .target(name: "PlanetMetrics", dependencies: [
            "Exposition", "NetAddress", "PacketDecoding", "Traffic", "Sockets", "Inventory", "Migration", "Listener",
        ]),
        .testTarget(name: "PlanetMetricsTests", dependencies: [
            "TestSupport", "PlanetMetrics", "Exposition", "Inventory", "Migration", "Sockets", "NetAddress",
            "PacketDecoding", "Traffic",
        ]),

        // zlib through pkg-config, for gzip-compressed scrapes; only Web imports it.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The agent's endpoints (Hummingbird; the Listener serves them): /metrics streamed part by
        // part (gzip when asked), the page and /api/v1 (its HTML, CSS and script compiled
        // into the binary).
        .target(name: "Web", dependencies: [
            "PlanetMetrics", "Exposition", "Traffic", "Sockets", "Inventory", "NetAddress", "PacketDecoding", "Diagnostics", "CZlib",
            // Captures on demand (/api/v1/capture): their own libpcap handles, and who asked.
            "Capture", "Listener",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], resources: [.embedInCode("Page/index.html"), .embedInCode("Page/app.css"), .embedInCode("Page/app.js")]),
        .testTarget(name: "WebTests", dependencies: [
            "TestSupport", "Web", "PlanetMetrics", "Exposition", "Traffic", "Sockets", "Inventory", "NetAddress", "CZlib",
            "PacketDecoding", "Listener", "Capture",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),

        // libcap through pkg-config: the privilege drop (user switch keeping capabilities).
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap", providers: [.apt(["libcap-dev"])]),

        // The agent: its tasks (capture, socketstat, inventory, darkstat, ebpf) and their
        // wiring into one ServiceGroup with the web server; replay beside them. The only
        // module that knows all the others.
        .target(name: "Agent", dependencies: [
            "Capture", "Traffic", "PlanetMetrics", "Web", "Listener", "NetAddress", "PacketDecoding", "Sockets", "Inventory", "Migration",
            "Exposition", "CLibcap", "Diagnostics",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "AgentTests", dependencies: [
            "TestSupport", "Agent", "PlanetMetrics", "Sockets", "Traffic", "NetAddress", "Inventory", "PacketDecoding",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The version and revision compiled in (see buildInfoDefines above).
        .target(name: "CBuildInfo", cSettings: buildInfoDefines()),

        // Go-compatible command lines (flags, durations, -h), logrus-style logging and the
        // version, for the three executables.
        .target(name: "CommandLineSupport", dependencies: [
            "Diagnostics", "CBuildInfo",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CommandLineSupportTests", dependencies: [
            "CommandLineSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The -web.* flags of the agent's and the federator's listeners (not the BigQuery
        // tool's, which serves nothing).
        .target(name: "WebFlags", dependencies: [
            "CommandLineSupport", "Listener", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "planet-exporter", dependencies: [
            "Agent", "Web", "PlanetMetrics", "NetAddress", "CommandLineSupport", "WebFlags", "Inventory", "Diagnostics",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [
            // Idle resident memory is mostly the binary's own pages that start-up touched:
            // - swiftc exports every symbol of an executable on Linux: 43,000 dynamic symbols
            //   whose tables (3.5 MB) the loader reads and which stay resident. Nothing looks
            //   the agent's symbols up at run time (backtraces read the file): keep them local.
            // - 132,000 relative relocations, 3.2 MB of RELA entries read once at start, pack
            //   into 26 KB of RELR (lld, shipped with the toolchain; glibc 2.36, Debian 12,
            //   which the package's Depends then requires).
            // Together 7 MB less resident (docs/benchmarks.md).
            .unsafeFlags(["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]),
        ]),

        // snappy through pkg-config, for remote-write bodies; only Federator imports it.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),

        // Federator: Prometheus query_range -> InfluxDB line protocol and Prometheus remote
        // write, on a cron schedule. RemoteWrite.pb.swift is generated once from the .proto
        // beside it and committed; the build does not run protoc.
        .target(name: "Federator", dependencies: [
            "CSnappy", "Exposition", "Diagnostics",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // RS256 for service-account JWTs and SHA-256 for insertIds (BigQuery writer).
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ], exclude: ["RemoteWrite.proto"]),
        .testTarget(name: "FederatorTests", dependencies: [
            "Federator", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            // A local OAuth token endpoint and BigQuery stand-in for the authentication tests.
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "planet-federator", dependencies: [
            "CommandLineSupport", "WebFlags", "Federator", "Diagnostics", "Listener", "Exposition",
            // -listen-address: the federator's own /metrics.
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // planet-federator-influxdb-to-bq: hourly traffic and daily dependency tables from the
        // federated InfluxDB data into BigQuery; the analyses and the writer live in Federator.
        .executableTarget(name: "planet-federator-influxdb-to-bq", dependencies: [
            "CommandLineSupport", "Federator", "Diagnostics",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ]
)
