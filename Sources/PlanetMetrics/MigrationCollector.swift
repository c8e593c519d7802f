import Exposition
import Migration

/// What darkstat or ebpf_exporter last reported, as this agent's families: the darkstat
/// and ebpf tasks of the Go original, for fleets that move host by host.
public struct MigrationCollector<Records: Sendable>: MetricsCollector {
    public let name: String
    let read: @Sendable () -> (records: Records?, succeeded: Bool)
    let enrichment: @Sendable () -> Enrichment
    let render: @Sendable (Records, Enrichment, inout ExpositionWriter) -> Void

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let reading = read()
        if let records = reading.records { render(records, enrichment(), &writer) }
        return reading.succeeded
    }
}

extension MigrationCollector where Records == [TrafficRecord] {
    /// planet_traffic_bytes_total from darkstat (when packet capture is off). `read` gives
    /// the last good conversion (nil before the first) and whether the latest scrape succeeded.
    public static func darkstat(enrichment: @escaping @Sendable () -> Enrichment,
                                read: @escaping @Sendable () -> (records: Records?, succeeded: Bool)) -> Self {
        Self(name: "darkstat", read: read, enrichment: enrichment) { records, labels, writer in
            MigrationRendering.writeTraffic(records, local: labels.local, inventory: labels.lookup, into: &writer)
        }
    }
}

extension MigrationCollector where Records == [EbpfRecord] {
    /// planet_ebpf_traffic_bytes_total from ebpf_exporter's tcptop.
    public static func ebpf(enrichment: @escaping @Sendable () -> Enrichment,
                            read: @escaping @Sendable () -> (records: Records?, succeeded: Bool)) -> Self {
        Self(name: "ebpf", read: read, enrichment: enrichment) { records, labels, writer in
            MigrationRendering.writeEbpf(records, local: labels.local, inventory: labels.lookup, into: &writer)
        }
    }
}
