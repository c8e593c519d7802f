import Exposition
import Migration

/// What darkstat or ebpf_exporter last reported, as this agent's families: the darkstat
/// and ebpf tasks of the Go original, for fleets that move host by host.
public struct MigrationCollector<Records: Sendable>: MetricsCollector {
    /// The task's state at one moment: the last good conversion (nil before the first),
    /// whether the latest scrape succeeded, and the samples its bound left out.
    public typealias Reading = (records: Records?, succeeded: Bool, dropped: Int)

    public let name: String
    let read: @Sendable () -> Reading
    let enrichment: @Sendable () -> Enrichment
    let rows: @Sendable (Records, Enrichment) -> MigrationRenderer

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        collectAllParts(into: &writer)
    }

    /// Writes the family a few thousand series at a time, then the dropped count.
    public func makeRenderer() -> any CollectorRenderer {
        let reading = read()
        return Renderer(name: name, reading: reading, rows: reading.records.map { rows($0, enrichment()) })
    }

    struct Renderer: CollectorRenderer {
        let name: String
        let reading: Reading
        var rows: MigrationRenderer?

        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            if rows != nil, !rows!.render(upTo: 2000, into: &writer) { return nil }
            let family = "planet_\(name)_dropped_samples"
            writer.family(family, help: "Samples of the latest \(name) scrape left out because it held more peers than the agent keeps", kind: .gauge)
            writer.sample(family, [:], UInt64(reading.dropped))
            return reading.succeeded
        }
    }
}

extension MigrationCollector where Records == [TrafficRecord] {
    /// planet_traffic_bytes_total from darkstat (when packet capture is off).
    public static func darkstat(enrichment: @escaping @Sendable () -> Enrichment,
                                read: @escaping @Sendable () -> Reading) -> Self {
        Self(name: "darkstat", read: read, enrichment: enrichment) { records, labels in
            MigrationRenderer.traffic(records, local: labels.local, inventory: labels.lookup)
        }
    }
}

extension MigrationCollector where Records == [EbpfRecord] {
    /// planet_ebpf_traffic_bytes_total from ebpf_exporter's tcptop.
    public static func ebpf(enrichment: @escaping @Sendable () -> Enrichment,
                            read: @escaping @Sendable () -> Reading) -> Self {
        Self(name: "ebpf", read: read, enrichment: enrichment) { records, labels in
            MigrationRenderer.ebpf(records, local: labels.local, inventory: labels.lookup)
        }
    }
}
