import Exposition
import Foundation
import Synchronization

/// One source of metrics on /metrics, in the manner of node_exporter's collectors.
public protocol MetricsCollector: Sendable {
    /// The `collector` label of planet_scrape_collector_* (e.g. "capture", "socketstat").
    var name: String { get }
    /// Writes this collector's families; returns false when its data is failed or stale.
    func collect(into writer: inout ExpositionWriter) -> Bool
    /// A renderer that writes the families in parts, so a scrape of many series can be
    /// sent as it is written instead of held whole. The default writes them in one part.
    func makeRenderer() -> any CollectorRenderer
}

/// Writes one collector's families part by part for one scrape.
public protocol CollectorRenderer {
    /// Writes the next part; returns nil while there is more, else the collector's success.
    mutating func renderNext(into writer: inout ExpositionWriter) -> Bool?
}

/// The renderer of a collector that writes everything in one part.
struct WholeRenderer: CollectorRenderer {
    let collector: any MetricsCollector
    mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? { collector.collect(into: &writer) }
}

extension MetricsCollector {
    public func makeRenderer() -> any CollectorRenderer { WholeRenderer(collector: self) }
}

/// The latest value a background task published; readers never wait for the task's I/O.
public final class Latest<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    public init(_ initial: Value) { value = Mutex(initial) }

    /// The value now.
    public func get() -> Value { value.withLock { $0 } }

    /// Replaces the value.
    public func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    /// Changes the value in place.
    public func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
}

/// Version and revision reported by -version and planet_exporter_build_info.
public enum BuildInfo {
    public static let version = "0.1.0"
    /// The git revision the binary was built from, when the environment names it
    /// (PLANET_EXPORTER_REVISION, set by packaging); SwiftPM records none itself.
    public static let revision = ProcessInfo.processInfo.environment["PLANET_EXPORTER_REVISION"] ?? "unknown"
}

/// Renders every collector for one scrape, with each one's duration and success.
public struct MetricsRegistry: Sendable {
    public let collectors: [any MetricsCollector]
    /// Bytes handed on at a time while streaming a scrape.
    public static let partBytes = 64 << 10

    public init(collectors: [any MetricsCollector]) {
        self.collectors = collectors
    }

    /// The whole exposition for one scrape, in one buffer.
    public func render() async -> [UInt8] {
        var all: [UInt8] = []
        await write { all.append(contentsOf: $0) }
        return all
    }

    /// Writes the exposition part by part, handing each part of about `partBytes` to
    /// `send` as it is written (the last one smaller). Memory stays at one part however
    /// many series there are.
    public func write(send: ([UInt8]) async throws -> Void) async rethrows {
        var writer = ExpositionWriter(reservingCapacity: Self.partBytes + 4096)
        var results: [(name: String, seconds: Double, success: Bool)] = []
        let clock = ContinuousClock()
        for collector in collectors {
            var renderer = collector.makeRenderer()
            var elapsed = Duration.zero
            var success: Bool? = nil
            while success == nil {
                let start = clock.now
                success = renderer.renderNext(into: &writer)
                elapsed += clock.now - start
                if writer.bytes.count >= Self.partBytes {
                    try await send(writer.bytes)
                    writer.removeAll()
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            results.append((collector.name, seconds, success ?? false))
        }
        writer.family("planet_scrape_collector_duration_seconds", help: "Duration of a collector scrape", kind: .gauge)
        for result in results {
            writer.sample("planet_scrape_collector_duration_seconds", ["collector": result.name], result.seconds)
        }
        writer.family("planet_scrape_collector_success", help: "Whether a collector succeeded", kind: .gauge)
        for result in results {
            writer.sample("planet_scrape_collector_success", ["collector": result.name], result.success ? 1.0 : 0.0)
        }
        writer.family("planet_exporter_build_info", help: "A metric with a constant '1' value labeled by version and revision of planet-exporter", kind: .gauge)
        writer.sample("planet_exporter_build_info", ["revision": BuildInfo.revision, "version": BuildInfo.version], UInt64(1))
        try await send(writer.bytes)
    }
}
