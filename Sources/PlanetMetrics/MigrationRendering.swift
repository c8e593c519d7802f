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

    /// Writes `planet_traffic_bytes_total` from darkstat records (see `MigrationRenderer.traffic`).
    public static func writeTraffic(_ records: [TrafficRecord], local: InventoryHost,
                                    inventory: InventoryLookup, into writer: inout ExpositionWriter) {
        var renderer = MigrationRenderer.traffic(records, local: local, inventory: inventory)
        while !renderer.render(upTo: .max, into: &writer) {}
    }

    /// Writes `planet_ebpf_traffic_bytes_total` from tcptop records (see `MigrationRenderer.ebpf`).
    public static func writeEbpf(_ records: [EbpfRecord], local: InventoryHost,
                                 inventory: InventoryLookup, into writer: inout ExpositionWriter) {
        var renderer = MigrationRenderer.ebpf(records, local: local, inventory: inventory)
        while !renderer.render(upTo: .max, into: &writer) {}
    }
}

/// One migration family from darkstat or ebpf_exporter records, written a part at a time.
public struct MigrationRenderer {
    typealias Row = (labels: [(String, String)], bytes: UInt64)

    let name: String
    let help: String
    let rows: [Row]
    var position = 0

    /// Rows in the order client_golang writes them (label values compared in label
    /// order), so output is stable and diffs against the Go original line up.
    init(name: String, help: String, rows: [Row]) {
        self.name = name
        self.help = help
        self.rows = rows.sorted { lhs, rhs in
            for (left, right) in zip(lhs.labels, rhs.labels) where left.1 != right.1 {
                return left.1 < right.1
            }
            return false
        }
    }

    /// `planet_traffic_bytes_total` from darkstat records.
    ///
    /// darkstat knows neither ports nor processes, so `port`, `protocol` and
    /// `process_name` are empty. `local` labels every series with this host's hostgroup
    /// and domain; `inventory` names each peer (unknown peers get empty labels).
    public static func traffic(_ records: [TrafficRecord], local: InventoryHost, inventory: InventoryLookup) -> MigrationRenderer {
        MigrationRenderer(name: MigrationRendering.trafficMetric, help: "Total network traffic with peers", rows: records.map { record in
            let peer = inventory(record.remote)
            return ([
                ("direction", record.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("port", ""),
                ("process_name", ""),
                ("protocol", ""),
                ("remote_domain", peer?.domain ?? ""),
                ("remote_hostgroup", peer?.hostgroup ?? ""),
                ("remote_ip", record.remote.description),
            ], record.bytes)
        })
    }

    /// `planet_ebpf_traffic_bytes_total` from tcptop records.
    ///
    /// Like the Go original, a series is a peer and a direction: pids and ports are
    /// summed away, since client ports and pids would make a series per connection.
    public static func ebpf(_ records: [EbpfRecord], local: InventoryHost, inventory: InventoryLookup) -> MigrationRenderer {
        MigrationRenderer(name: MigrationRendering.ebpfMetric, help: "Total TCP traffic with peers, from ebpf_exporter tcptop",
                          rows: EbpfTcptop.peerTotals(records).map { record in
            let peer = inventory(record.remote)
            return ([
                ("direction", record.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("remote_domain", peer?.domain ?? ""),
                ("remote_hostgroup", peer?.hostgroup ?? ""),
                ("remote_ip", record.remote.description),
            ], record.bytes)
        })
    }

    /// Writes the family header first, then up to `count` series; true once all are written.
    public mutating func render(upTo count: Int, into writer: inout ExpositionWriter) -> Bool {
        if position == 0 { writer.family(name, help: help, kind: .counter) }
        let end = rows.count - position <= count ? rows.count : position + count
        while position < end {
            writer.sample(name, labels: rows[position].labels, rows[position].bytes)
            position += 1
        }
        return position == rows.count
    }
}
