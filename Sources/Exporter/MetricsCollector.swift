import Exposition
import Foundation
import Synchronization

/// One source of metrics on /metrics, in the manner of node_exporter's collectors.
public protocol MetricsCollector: Sendable {
    /// The `collector` label of planet_scrape_collector_* (e.g. "capture", "socketstat").
    var name: String { get }
    /// Writes this collector's families; returns false when its data is failed or stale.
    func collect(into writer: inout ExpositionWriter) -> Bool
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
    /// The git revision, when the build recorded one (PLANET_REVISION at build time).
    public static let revision = ProcessInfo.processInfo.environment["PLANET_EXPORTER_REVISION"] ?? "unknown"
}

final class SizeHint: Sendable {
    private let value = Atomic<Int>(0)
    var bytes: Int {
        get { value.load(ordering: .relaxed) }
        set { value.store(newValue, ordering: .relaxed) }
    }
}

/// Renders every collector for one scrape, with each one's duration and success.
public struct MetricsRegistry: Sendable {
    public let collectors: [any MetricsCollector]
    /// The size of the last exposition, to size the next one's buffer.
    private let lastSize = SizeHint()

    public init(collectors: [any MetricsCollector]) {
        self.collectors = collectors
    }

    /// The whole exposition for one scrape.
    public func render() -> [UInt8] {
        // Sized from the last scrape, so a large exposition is not grown by doubling
        // (which holds the old and the new buffer at once).
        let hint = lastSize.bytes
        var writer = ExpositionWriter(reservingCapacity: max(1 << 16, hint + hint / 8))
        var results: [(name: String, seconds: Double, success: Bool)] = []
        let clock = ContinuousClock()
        for collector in collectors {
            let start = clock.now
            let success = collector.collect(into: &writer)
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            results.append((collector.name, seconds, success))
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
        lastSize.bytes = writer.bytes.count
        return writer.bytes
    }
}
