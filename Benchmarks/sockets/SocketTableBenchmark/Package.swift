// swift-tools-version:6.1
import PackageDescription

// Kept out of the main package so the library's graph carries no benchmark code.
let package = Package(
    name: "SocketTableBenchmark",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "planet-exporter", path: "../../..")],
    targets: [
        .executableTarget(
            name: "sockets-bench",
            dependencies: [.product(name: "Sockets", package: "planet-exporter")],
            path: "Sources/SocketsBenchmark"),
        .executableTarget(
            name: "sockets-read",
            dependencies: [.product(name: "Sockets", package: "planet-exporter")],
            path: "Sources/SocketsRead"),
    ]
)
