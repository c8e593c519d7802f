import Exposition
import Traffic

/// planet_tcp_* : connection attempts, outcomes and handshake times per dependency edge,
/// from the TCP packets the capture counts.
public struct TCPHealthCollector: MetricsCollector {
    public let name = "tcp_health"
    let read: @Sendable () -> TCPHealthSnapshot
    let processUnitLabel: Bool

    /// With `processUnitLabel`, every edge carries `process_unit` (-process-unit-label).
    public init(processUnitLabel: Bool = false, read: @escaping @Sendable () -> TCPHealthSnapshot) {
        self.read = read
        self.processUnitLabel = processUnitLabel
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        collectAllParts(into: &writer)
    }

    public func makeRenderer() -> any CollectorRenderer {
        Renderer(health: TCPHealthRenderer(read(), processUnitLabel: processUnitLabel))
    }

    struct Renderer: CollectorRenderer {
        var health: TCPHealthRenderer
        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            health.render(upTo: 2000, into: &writer) ? true : nil
        }
    }
}

/// Writes the planet_tcp_* families of a snapshot a part at a time: each family's
/// samples together, edges ordered by peer, direction, port and process.
public struct TCPHealthRenderer {
    let snapshot: TCPHealthSnapshot
    let order: [Int]
    let processUnitLabel: Bool
    var family = 0
    var position = 0

    /// The counter families, in the order written.
    static let counters: [(name: String, help: String, value: @Sendable (TCPEdgeHealth) -> UInt64)] = [
        ("planet_tcp_connection_attempts_total", "TCP connections opened (SYN without ACK; a retransmitted SYN counts once), per dependency edge", { $0.attempts }),
        ("planet_tcp_connections_established_total", "TCP handshakes completed (SYN/ACK received upstream, the peer's ACK downstream), per dependency edge", { $0.established }),
        ("planet_tcp_connections_refused_total", "TCP SYNs answered by a RST, per dependency edge", { $0.refused }),
        ("planet_tcp_connections_timed_out_total", "TCP handshakes with no answer within 5 seconds of packet time, per dependency edge", { $0.timedOut }),
        ("planet_tcp_connections_reset_total", "TCP connections ended by a RST after their SYN was answered, per dependency edge", { $0.reset }),
    ]
    static let histogram = "planet_tcp_handshake_seconds"
    /// The `le` label values of the histogram's buckets.
    static let bucketLabels: [String] = TCPHealth.bucketBounds.map { ExpositionWriter.format(Double($0) / 1e6) } + ["+Inf"]

    /// A renderer of `snapshot`; with `processUnitLabel`, edges carry `process_unit`.
    public init(_ snapshot: TCPHealthSnapshot, processUnitLabel: Bool = false) {
        self.snapshot = snapshot
        self.processUnitLabel = processUnitLabel
        let keys = snapshot.keys
        order = keys.indices.sorted { a, b in
            let x = keys[a], y = keys[b]
            if x.peer != y.peer { return x.peer < y.peer }
            if x.upstream != y.upstream { return !x.upstream }
            if x.port != y.port { return x.port < y.port }
            if x.process != y.process { return x.process < y.process }
            return x.unit < y.unit
        }
        // No edge, no empty families.
        if order.isEmpty { family = Self.counters.count + 1 }
    }

    /// The edge labels, sorted by name.
    static func labels(_ key: TCPEdgeKey, processUnitLabel: Bool) -> [(String, String)] {
        processUnitLabel
            ? [("direction", key.directionLabel), ("port", key.portLabel), ("process_name", key.process),
               ("process_unit", key.unit), ("protocol", "tcp"), ("remote_ip", key.peer.description)]
            : [("direction", key.directionLabel), ("port", key.portLabel), ("process_name", key.process),
               ("protocol", "tcp"), ("remote_ip", key.peer.description)]
    }

    /// Writes up to `count` edges of the current family (its header first), moving on to
    /// the next family when one is done; true once everything is written.
    public mutating func render(upTo count: Int, into writer: inout ExpositionWriter) -> Bool {
        let families = Self.counters.count + 1
        if family < families {
            let histogram = family == Self.counters.count
            if position == 0 {
                if histogram {
                    writer.family(Self.histogram, help: "TCP handshake time: SYN to SYN/ACK upstream, SYN/ACK to the peer's ACK downstream, per dependency edge", kind: .histogram)
                } else {
                    writer.family(Self.counters[family].name, help: Self.counters[family].help, kind: .counter)
                }
            }
            let end = min(order.count, position + count)
            while position < end {
                let index = order[position]
                position += 1
                let labels = Self.labels(snapshot.keys[index], processUnitLabel: processUnitLabel)
                let health = snapshot.edges[index]
                if histogram {
                    Self.writeHistogram(health, labels: labels, into: &writer)
                } else {
                    writer.sample(Self.counters[family].name, labels: labels, Self.counters[family].value(health))
                }
            }
            if position == order.count {
                family += 1
                position = 0
            }
            return false
        }
        writer.family("planet_tcp_health_edges", help: "Dependency edges with TCP health counters held in memory", kind: .gauge)
        writer.sample("planet_tcp_health_edges", [:], UInt64(snapshot.keys.count))
        writer.family("planet_tcp_health_untracked_total", help: "TCP events not counted, by reason: a handshake whose slot in the fixed handshake table another SYN took (handshake_table), an event of a new edge past the edge limit (edge_limit)", kind: .counter)
        writer.sample("planet_tcp_health_untracked_total", labels: [("reason", "edge_limit")], snapshot.droppedEvents)
        writer.sample("planet_tcp_health_untracked_total", labels: [("reason", "handshake_table")], snapshot.untrackedHandshakes)
        writer.family("planet_tcp_health_aged_out_edges_total", help: "Dependency edges removed after 15 minutes without a TCP event", kind: .counter)
        writer.sample("planet_tcp_health_aged_out_edges_total", [:], snapshot.agedOutEdges)
        writer.family("planet_tcp_health_held_events", help: "TCP events waiting for the next socket-table reading to name their process", kind: .gauge)
        writer.sample("planet_tcp_health_held_events", [:], UInt64(snapshot.heldEvents))
        return true
    }

    static func writeHistogram(_ health: TCPEdgeHealth, labels: [(String, String)], into writer: inout ExpositionWriter) {
        var cumulative: UInt64 = 0
        for (bucket, le) in bucketLabels.enumerated() {
            cumulative &+= health.buckets[bucket]
            writer.sample(histogram + "_bucket", labels: labels + [("le", le)], cumulative)
        }
        writer.appendRaw(ExpositionWriter.seriesPrefix(histogram + "_sum", labels: labels))
        writer.appendRaw(ExpositionWriter.format(Double(health.handshakeMicroseconds) / 1e6).utf8)
        writer.appendRaw([0x0A])
        writer.sample(histogram + "_count", labels: labels, cumulative)
    }
}
