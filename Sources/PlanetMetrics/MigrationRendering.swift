import Exposition
import Inventory
import Migration
import NetAddress

/// Writes what darkstat and ebpf_exporter reported as this agent's own metric families.
public enum MigrationRendering {
    /// The family darkstat feeds, shared with packet capture.
    public static let trafficMetric = "planet_traffic_bytes_total"
    /// The family ebpf_exporter's tcptop feeds, as the Go original names it.
    public static let ebpfMetric = "planet_ebpf_traffic_bytes_total"

    /// Writes `planet_traffic_bytes_total` from darkstat records.
    ///
    /// darkstat knows neither ports nor processes, so `port`, `protocol` and
    /// `process_name` are empty. `local` labels every series with this host's hostgroup
    /// and domain; `inventory` names each peer (unknown peers get empty labels).
    public static func writeTraffic(_ records: [TrafficRecord], local: InventoryHost,
                                    inventory: InventoryLookup, into writer: inout ExpositionWriter) {
        writer.family(trafficMetric, help: "Total network traffic with peers", kind: .counter)
        var rows: [(labels: [(String, String)], bytes: UInt64)] = []
        rows.reserveCapacity(records.count)
        for record in records {
            let peer = inventory(record.remote)
            rows.append(([
                ("direction", record.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("port", ""),
                ("process_name", ""),
                ("protocol", ""),
                ("remote_domain", peer?.domain ?? ""),
                ("remote_hostgroup", peer?.hostgroup ?? ""),
                ("remote_ip", record.remote.description),
            ], record.bytes))
        }
        writeSorted(trafficMetric, rows, into: &writer)
    }

    /// Writes `planet_ebpf_traffic_bytes_total` from tcptop records.
    ///
    /// Like the Go original, a series is a peer and a direction: pids and ports are
    /// summed away, since client ports and pids would make a series per connection.
    public static func writeEbpf(_ records: [EbpfRecord], local: InventoryHost,
                                 inventory: InventoryLookup, into writer: inout ExpositionWriter) {
        writer.family(ebpfMetric, help: "Total TCP traffic with peers, from ebpf_exporter tcptop", kind: .counter)
        let rows = EbpfTcptop.peerTotals(records).map { record -> (labels: [(String, String)], bytes: UInt64) in
            let peer = inventory(record.remote)
            return ([
                ("direction", record.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("remote_domain", peer?.domain ?? ""),
                ("remote_hostgroup", peer?.hostgroup ?? ""),
                ("remote_ip", record.remote.description),
            ], record.bytes)
        }
        writeSorted(ebpfMetric, rows, into: &writer)
    }

    /// Series in the order client_golang writes them (label values compared in label
    /// order), so output is stable and diffs against the Go original line up.
    private static func writeSorted(_ name: String, _ rows: [(labels: [(String, String)], bytes: UInt64)],
                                    into writer: inout ExpositionWriter) {
        let sorted = rows.sorted { lhs, rhs in
            for (left, right) in zip(lhs.labels, rhs.labels) where left.1 != right.1 {
                return left.1 < right.1
            }
            return false
        }
        for row in sorted {
            writer.sample(name, labels: row.labels, row.bytes)
        }
    }
}
