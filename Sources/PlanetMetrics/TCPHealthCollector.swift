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

    /// The per-sender counter families of the connection analysis, written after the
    /// handshake histogram with a `sender` label, for edges whose connections sent anything.
    static let senderCounters: [(name: String, help: String, value: @Sendable (TCPSenderHealth) -> UInt64)] = [
        ("planet_tcp_data_segments_total", "TCP segments carrying data (keep-alives and zero-window probes excluded), per dependency edge and sender", { $0.dataSegments }),
        ("planet_tcp_retransmitted_segments_total", "TCP data segments whose sequence range the sender had already sent, per dependency edge and sender", { $0.retransmissions }),
        ("planet_tcp_out_of_order_segments_total", "TCP data segments below the sender's highest sequence that fill a gap never seen before, per dependency edge and sender", { $0.outOfOrder }),
        ("planet_tcp_zero_window_segments_total", "TCP segments advertising a zero receive window, per dependency edge and sender", { $0.zeroWindows }),
        ("planet_tcp_duplicate_ack_runs_total", "Runs of three or more duplicate ACKs (fast-retransmit triggers), per dependency edge and the ACKs' sender", { $0.duplicateAckRuns }),
        ("planet_tcp_window_full_stalls_total", "Times a TCP sender's new data reached the end of the receiver's advertised window, counted once until the window opens, per dependency edge and sender", { $0.windowFullStalls }),
    ]
    static let rttHistogram = "planet_tcp_rtt_seconds"
    static let rttBucketLabels: [String] = TCPHealth.rttBucketBounds.map { ExpositionWriter.format(Double($0) / 1e6) } + ["+Inf"]
    /// The senders, in the order written: index 0 is the local end.
    static let senders = ["local", "remote"]

    /// Families written per edge, in order.
    enum Family {
        case edgeCounter(Int), handshakes, senderCounter(Int), rtt, rttSamples, closed
    }
    static let families: [Family] = (0..<counters.count).map { .edgeCounter($0) } + [.handshakes]
        + (0..<senderCounters.count).map { .senderCounter($0) } + [.rtt, .rttSamples, .closed]

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
        if order.isEmpty { family = Self.families.count }
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
        if family < Self.families.count {
            let kind = Self.families[family]
            if position == 0 { Self.writeHeader(kind, into: &writer) }
            let end = min(order.count, position + count)
            while position < end {
                let index = order[position]
                position += 1
                let labels = Self.labels(snapshot.keys[index], processUnitLabel: processUnitLabel)
                let health = snapshot.edges[index]
                switch kind {
                case .edgeCounter(let counter):
                    writer.sample(Self.counters[counter].name, labels: labels, Self.counters[counter].value(health))
                case .handshakes:
                    Self.writeHistogram(Self.histogram, les: Self.bucketLabels, counts: { health.buckets[$0] },
                                        sumMicroseconds: health.handshakeMicroseconds, labels: labels, into: &writer)
                case .senderCounter, .rtt, .rttSamples, .closed:
                    // Edges of handshakes only (refused, timed out) write no sender series.
                    if health.local.isZero && health.remote.isZero { continue }
                    for (sender, counts) in [(Self.senders[0], health.local), (Self.senders[1], health.remote)] {
                        Self.writeSender(kind, counts, labels: labels + [("sender", sender)], into: &writer)
                    }
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
        writer.family("planet_tcp_health_untracked_total", help: "TCP events not counted, by reason: a handshake whose slot in the fixed handshake table another SYN took (handshake_table), an event of a new edge past the edge limit (edge_limit), a connection whose slot in the fixed connection table a new connection took before it ended (connection_table; its counts until then are kept)", kind: .counter)
        writer.sample("planet_tcp_health_untracked_total", labels: [("reason", "connection_table")], snapshot.evictedConnections)
        writer.sample("planet_tcp_health_untracked_total", labels: [("reason", "edge_limit")], snapshot.droppedEvents)
        writer.sample("planet_tcp_health_untracked_total", labels: [("reason", "handshake_table")], snapshot.untrackedHandshakes)
        writer.family("planet_tcp_health_aged_out_edges_total", help: "Dependency edges removed after 15 minutes without a TCP event", kind: .counter)
        writer.sample("planet_tcp_health_aged_out_edges_total", [:], snapshot.agedOutEdges)
        writer.family("planet_tcp_health_held_events", help: "TCP events waiting for the next socket-table reading to name their process", kind: .gauge)
        writer.sample("planet_tcp_health_held_events", [:], UInt64(snapshot.heldEvents))
        return true
    }

    static func writeHeader(_ kind: Family, into writer: inout ExpositionWriter) {
        switch kind {
        case .edgeCounter(let counter):
            writer.family(counters[counter].name, help: counters[counter].help, kind: .counter)
        case .handshakes:
            writer.family(histogram, help: "TCP handshake time: SYN to SYN/ACK upstream, SYN/ACK to the peer's ACK downstream, per dependency edge", kind: .histogram)
        case .senderCounter(let counter):
            writer.family(senderCounters[counter].name, help: senderCounters[counter].help, kind: .counter)
        case .rtt:
            writer.family(rttHistogram, help: "TCP round-trip time of the sender's data: to the echo of its timestamp when both ends send timestamps, else to the ACK covering it (never a retransmitted segment), per dependency edge and sender", kind: .histogram)
        case .rttSamples:
            writer.family("planet_tcp_rtt_samples_total", help: "TCP round trips timed, by source: the timestamps option (timestamp) or data to its covering ACK (ack), per dependency edge and sender", kind: .counter)
        case .closed:
            writer.family("planet_tcp_connections_closed_total", help: "TCP connections by the side that ended them first and how (fin or rst), per dependency edge", kind: .counter)
        }
    }

    static func writeSender(_ kind: Family, _ counts: TCPSenderHealth, labels: [(String, String)], into writer: inout ExpositionWriter) {
        switch kind {
        case .senderCounter(let counter):
            writer.sample(senderCounters[counter].name, labels: labels, senderCounters[counter].value(counts))
        case .rtt:
            writeHistogram(rttHistogram, les: rttBucketLabels, counts: { counts.rttBuckets[$0] }, sumMicroseconds: counts.rttMicroseconds,
                           labels: labels, into: &writer)
        case .rttSamples:
            writer.sample("planet_tcp_rtt_samples_total", labels: labels + [("source", "ack")], counts.ackSamples)
            writer.sample("planet_tcp_rtt_samples_total", labels: labels + [("source", "timestamp")], counts.timestampSamples)
        case .closed:
            writer.sample("planet_tcp_connections_closed_total", labels: labels + [("flag", "fin")], counts.finFirst)
            writer.sample("planet_tcp_connections_closed_total", labels: labels + [("flag", "rst")], counts.rstFirst)
        case .edgeCounter, .handshakes:
            break
        }
    }

    /// One histogram's samples from per-bucket (not cumulative) counts, `les` their `le`
    /// values, and the sum of the observations in microseconds (written in seconds).
    static func writeHistogram(_ name: String, les: [String], counts: (Int) -> UInt64, sumMicroseconds: UInt64,
                               labels: [(String, String)], into writer: inout ExpositionWriter) {
        var cumulative: UInt64 = 0
        for (bucket, le) in les.enumerated() {
            cumulative &+= counts(bucket)
            writer.sample(name + "_bucket", labels: labels + [("le", le)], cumulative)
        }
        writer.appendRaw(ExpositionWriter.seriesPrefix(name + "_sum", labels: labels))
        writer.appendRaw(ExpositionWriter.format(Double(sumMicroseconds) / 1e6).utf8)
        writer.appendRaw([0x0A])
        writer.sample(name + "_count", labels: labels, cumulative)
    }
}
