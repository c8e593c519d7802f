// swift-tools-version:6.1
// libFuzzer target for the packet decoder, kept out of the main package graph because
// it only builds with the fuzzer sanitizer. Build and run it with `Fuzz/run.sh SECONDS`.
import PackageDescription

let package = Package(
    name: "planet-exporter-fuzz",
    dependencies: [
        .package(name: "planet-exporter", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "FuzzPacketDecoder",
            dependencies: [.product(name: "PacketDecoding", package: "planet-exporter")],
            // libFuzzer supplies main().
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
