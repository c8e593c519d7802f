import Exposition
import Traffic

/// What the capture task has at one moment: the traffic counted so far and each
/// source's counters.
public struct CaptureReading: Sendable {
    public var snapshot: TrafficSnapshot
    public var sources: [SourceCounters]
    /// False while a wanted interface is not capturing, or none is.
    public var healthy: Bool
    /// Interfaces the default selection left out past -capture-max-interfaces.
    public var skippedInterfaces: Int
    /// The captured interfaces' own counters, read with `sources`.
    public var interfaces: [InterfaceCoverage]

    public init(snapshot: TrafficSnapshot, sources: [SourceCounters], healthy: Bool, skippedInterfaces: Int = 0,
                interfaces: [InterfaceCoverage] = []) {
        self.snapshot = snapshot
        self.sources = sources
        self.healthy = healthy
        self.skippedInterfaces = skippedInterfaces
        self.interfaces = interfaces
    }
}

/// planet_traffic_bytes_total from capture, the capture self-metrics, and the captured
/// interfaces' own counters beside them.
public struct CaptureCollector: MetricsCollector {
    public let name = "capture"
    let read: @Sendable () -> CaptureReading
    let enrichment: @Sendable () -> Enrichment
    /// False when another source (darkstat) feeds planet_traffic_bytes_total.
    let rendersTraffic: Bool
    /// Whether traffic series carry `process_unit` (-process-unit-label).
    let processUnitLabel: Bool

    public init(rendersTraffic: Bool, processUnitLabel: Bool = false, enrichment: @escaping @Sendable () -> Enrichment,
                read: @escaping @Sendable () -> CaptureReading) {
        self.read = read
        self.rendersTraffic = rendersTraffic
        self.processUnitLabel = processUnitLabel
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        collectAllParts(into: &writer)
    }

    /// Renders the traffic series a few thousand at a time, then the self-metrics.
    public func makeRenderer() -> any CollectorRenderer {
        let reading = read()
        var traffic: TrafficRenderer? = nil
        if rendersTraffic {
            let labels = enrichment()
            traffic = TrafficRenderer(reading.snapshot, local: labels.local, lookup: labels.lookup,
                                      processUnitLabel: processUnitLabel)
        }
        return Renderer(reading: reading, traffic: traffic)
    }

    struct Renderer: CollectorRenderer {
        let reading: CaptureReading
        var traffic: TrafficRenderer?

        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            if traffic != nil, !traffic!.render(upTo: 2000, into: &writer) { return nil }
            traffic = nil
            CaptureSelfMetrics.render(reading.snapshot, sources: reading.sources, into: &writer)
            writer.family("planet_capture_skipped_interfaces", help: "Interfaces the default selection qualifies but does not open, past -capture-max-interfaces", kind: .gauge)
            writer.sample("planet_capture_skipped_interfaces", [:], UInt64(reading.skippedInterfaces))
            InterfaceCoverage.render(reading.interfaces, into: &writer)
            return reading.healthy
        }
    }
}
