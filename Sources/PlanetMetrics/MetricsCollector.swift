import Exposition

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

    /// `collect(into:)` for a collector that renders in parts: all its parts, one after
    /// another, into `writer`.
    public func collectAllParts(into writer: inout ExpositionWriter) -> Bool {
        var renderer = makeRenderer()
        while true {
            if let success = renderer.renderNext(into: &writer) { return success }
        }
    }
}
