import Exposition

/// Renders every collector for one scrape, with each one's duration and success.
public struct MetricsRegistry: Sendable {
    public let collectors: [any MetricsCollector]
    /// What planet_exporter_build_info says.
    public let version: String
    public let revision: String
    /// The latest scrape's result per collector, for the page's task health.
    public let lastScrape = ScrapeRecord()
    /// Bytes handed on at a time while streaming a scrape.
    public static let partBytes = 64 << 10

    public init(collectors: [any MetricsCollector], version: String, revision: String) {
        self.collectors = collectors
        self.version = version
        self.revision = revision
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
            results.append((collector.name, elapsed / .seconds(1), success ?? false))
        }
        lastScrape.record(results.map { ScrapeRecord.Result(collector: $0.name, seconds: $0.seconds, success: $0.success) })
        writer.family("planet_scrape_collector_duration_seconds", help: "Duration of a collector scrape", kind: .gauge)
        for result in results {
            writer.sample("planet_scrape_collector_duration_seconds", ["collector": result.name], result.seconds)
        }
        writer.family("planet_scrape_collector_success", help: "Whether a collector succeeded", kind: .gauge)
        for result in results {
            writer.sample("planet_scrape_collector_success", ["collector": result.name], result.success ? 1.0 : 0.0)
        }
        writer.family("planet_exporter_build_info", help: "A metric with a constant '1' value labeled by version and revision of planet-exporter", kind: .gauge)
        writer.sample("planet_exporter_build_info", labels: [("revision", revision), ("version", version)], 1)
        try await send(writer.bytes)
    }
}
