import Exposition
import Inventory
import NetAddress
import Traffic

/// Writes planet_traffic_bytes_total from a snapshot a part at a time, so a scrape of
/// many series can be sent while it is written.
public struct TrafficRenderer {
    let snapshot: TrafficSnapshot
    let local: InventoryHost
    let lookup: InventoryLookup
    let order: [Int32]
    /// Whether series carry `process_unit` (-process-unit-label).
    let processUnitLabel: Bool
    var position = 0
    var lastPeer: IPAddress? = nil
    var peerText = ""
    var peerName = ""
    var peerLabels = InventoryHost.unknown

    /// A renderer of `snapshot`, its series ordered by peer, direction, protocol, port and
    /// process; with `processUnitLabel`, each carries its process's unit as `process_unit`.
    public init(_ snapshot: TrafficSnapshot, local: InventoryHost, lookup: @escaping InventoryLookup,
                processUnitLabel: Bool = false) {
        self.snapshot = snapshot
        self.processUnitLabel = processUnitLabel
        self.local = local
        self.lookup = lookup
        let keys = snapshot.keys
        order = (0..<Int32(keys.count)).sorted { a, b in
            let x = keys[Int(a)], y = keys[Int(b)]
            if x.peer != y.peer { return x.peer < y.peer }
            if x.direction != y.direction { return x.direction.rawValue < y.direction.rawValue }
            if x.ipProtocol != y.ipProtocol { return x.ipProtocol < y.ipProtocol }
            if x.servicePort != y.servicePort { return (x.servicePort.map { Int($0) } ?? -1) < (y.servicePort.map { Int($0) } ?? -1) }
            return x.process < y.process
        }
    }

    /// Writes the family header first, then up to `count` series; true once all are written.
    public mutating func render(upTo count: Int, into writer: inout ExpositionWriter) -> Bool {
        if position == 0 {
            writer.family("planet_traffic_bytes_total", help: "Total network traffic with peers", kind: .counter)
        }
        let end = order.count - position <= count ? order.count : position + count
        while position < end {
            let index = Int(order[position])
            position += 1
            let key = snapshot.keys[index]
            if key.peer != lastPeer {
                lastPeer = key.peer
                peerText = key.peer.description
                peerName = snapshot.dnsNames.name(for: key.peer)
                peerLabels = lookup(key.peer) ?? .unknown
            }
            var labels = [
                ("direction", key.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("port", key.portLabel),
                ("process_name", snapshot.processName(key.process)),
                ("protocol", key.protocolLabel),
                ("remote_dns_name", peerName),
                ("remote_domain", peerLabels.domain),
                ("remote_hostgroup", peerLabels.hostgroup),
                ("remote_ip", peerText),
            ]
            if processUnitLabel { labels.insert(("process_unit", snapshot.processUnit(key.process)), at: 5) }
            writer.sample("planet_traffic_bytes_total", labels: labels, snapshot.counters[index].bytes)
        }
        return position == order.count
    }
}
