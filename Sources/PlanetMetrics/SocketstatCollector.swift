import Exposition
import Sockets

/// planet_upstream, planet_downstream and planet_server_process from the latest
/// socket-table reading, bounded per family, and how many series the bound cut.
public struct SocketstatCollector: MetricsCollector {
    public let name = "socketstat"
    let read: @Sendable () -> (report: DependencyReport?, succeeded: Bool)
    let enrichment: @Sendable () -> Enrichment
    let maxSeries: Int
    let processUnitLabel: Bool

    /// `read` gives the dependencies of the latest reading (nil before the first) and
    /// whether the latest attempt succeeded; each family holds at most `maxSeries` series.
    /// With `processUnitLabel`, series carry `process_unit` and the unit cache's overflow
    /// is written.
    public init(maxSeries: Int = DependencyMetrics.defaultMaxSeries, processUnitLabel: Bool = false,
                enrichment: @escaping @Sendable () -> Enrichment,
                read: @escaping @Sendable () -> (report: DependencyReport?, succeeded: Bool)) {
        self.read = read
        self.enrichment = enrichment
        self.maxSeries = maxSeries
        self.processUnitLabel = processUnitLabel
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        collectAllParts(into: &writer)
    }

    /// Writes the gauges a few thousand series at a time, then the dropped counts.
    public func makeRenderer() -> any CollectorRenderer {
        let reading = read()
        return Renderer(succeeded: reading.succeeded, dependencies: reading.report.map {
            let labels = enrichment()
            return DependencyRenderer($0, labels: labels.lookup, dnsName: labels.dnsName, maxSeries: maxSeries,
                                      processUnitLabel: processUnitLabel)
        }, unitsUncached: processUnitLabel ? reading.report?.processUnitsUncached : nil)
    }

    struct Renderer: CollectorRenderer {
        let succeeded: Bool
        var dependencies: DependencyRenderer?
        let unitsUncached: UInt64?

        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            guard dependencies != nil else { return false }
            if !dependencies!.render(upTo: 2000, into: &writer) { return nil }
            writer.family("planet_dependency_dropped_series", help: "Dependency series of the latest socket-table reading left out or folded by -task-socketstat-max-series, by family", kind: .gauge)
            for (family, series) in dependencies!.dropped {
                writer.sample("planet_dependency_dropped_series", labels: [("family", family)], UInt64(series))
            }
            if let unitsUncached {
                writer.family("planet_process_unit_uncached_total", help: "Process units worked out again at a socket-table reading because the unit cache held its most cgroup paths", kind: .counter)
                writer.sample("planet_process_unit_uncached_total", [:], unitsUncached)
            }
            return succeeded
        }
    }
}
