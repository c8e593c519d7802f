import Capture
import Exposition
import NetAddress
import PacketDecoding
import Traffic

/// Renders the capture and traffic self-metrics (planet_traffic_bytes_total itself is
/// written by TrafficRenderer, part by part).
public enum TrafficMetrics {
    /// One capture source's counters, labelled with its interface or file.
    public typealias SourceCounters = (interface: String, counters: CaptureCounters)

    /// Writes the capture and traffic self-metrics.
    public static func renderSelf(_ snapshot: TrafficSnapshot, sources: [SourceCounters], into writer: inout ExpositionWriter) {
        writer.family("planet_capture_packets_total", help: "Frames captured and handed to the agent", kind: .counter)
        for source in sources {
            writer.sample("planet_capture_packets_total", labels: [("interface", source.interface)], source.counters.packets)
        }
        writer.family("planet_capture_dropped_packets_total", help: "Packets dropped by the kernel or the interface before capture (pcap_stats)", kind: .counter)
        for source in sources {
            writer.sample("planet_capture_dropped_packets_total", labels: [("interface", source.interface)], source.counters.kernelDropped)
        }
        writer.family("planet_capture_ring_dropped_packets_total", help: "Packets dropped because the ring to the aggregator was full", kind: .counter)
        for source in sources {
            writer.sample("planet_capture_ring_dropped_packets_total", labels: [("interface", source.interface)], source.counters.ringDropped)
        }
        writer.family("planet_capture_undecoded_packets_total", help: "Captured frames that were not counted as IP traffic, by reason", kind: .counter)
        for source in sources {
            for status in DecodeStatus.allCases where status != .ok {
                writer.sample("planet_capture_undecoded_packets_total",
                              labels: [("interface", source.interface), ("reason", status.reason)],
                              source.counters.undecoded[Int(status.rawValue)])
            }
        }
        writer.family("planet_capture_unattributed_bytes_total", help: "IP bytes not counted against a peer, by reason", kind: .counter)
        for reason in UnattributedReason.allCases {
            writer.sample("planet_capture_unattributed_bytes_total", labels: [("reason", reason.label)],
                          snapshot.unattributedBytes[reason.rawValue])
        }
        writer.family("planet_traffic_process_bytes_total", help: "IP bytes counted against a peer, by whether the local process was resolved", kind: .counter)
        writer.sample("planet_traffic_process_bytes_total", labels: [("resolved", "false")], snapshot.processUnattributedBytes)
        writer.sample("planet_traffic_process_bytes_total", labels: [("resolved", "true")], snapshot.processAttributedBytes)
        writer.family("planet_traffic_series", help: "Traffic series held in memory", kind: .gauge)
        writer.sample("planet_traffic_series", [:], UInt64(snapshot.seriesCount))
        writer.family("planet_traffic_evicted_series_total", help: "Traffic series evicted because the series limit was reached", kind: .counter)
        writer.sample("planet_traffic_evicted_series_total", [:], snapshot.evictedSeries)
    }
}

/// Writes planet_traffic_bytes_total from a snapshot a part at a time, so a scrape of
/// many series can be sent while it is written.
public struct TrafficRenderer {
    let snapshot: TrafficSnapshot
    let local: HostLabels
    let lookup: HostLabelLookup
    let order: [Int32]
    var position = 0
    var lastPeer: IPAddress? = nil
    var peerText = ""
    var peerLabels = HostLabels.unknown

    /// A renderer of `snapshot`, its series ordered by peer, direction, protocol, port and process.
    public init(_ snapshot: TrafficSnapshot, local: HostLabels, lookup: @escaping HostLabelLookup) {
        self.snapshot = snapshot
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
                let found = lookup(key.peer)
                peerLabels = HostLabels(hostgroup: found?.hostgroup ?? "", domain: found?.domain ?? "")
            }
            writer.sample("planet_traffic_bytes_total", labels: [
                ("direction", key.direction.label),
                ("local_domain", local.domain),
                ("local_hostgroup", local.hostgroup),
                ("port", key.portLabel),
                ("process_name", snapshot.processName(key.process)),
                ("protocol", key.protocolLabel),
                ("remote_domain", peerLabels.domain),
                ("remote_hostgroup", peerLabels.hostgroup),
                ("remote_ip", peerText),
            ], snapshot.counters[index].bytes)
        }
        return position == order.count
    }
}
