import Inventory
import NetAddress
import PlanetMetrics
import Traffic

extension ApiDocuments {
    /// GET /api/v1/tcp: connection health per dependency edge, the edges with the most
    /// attempts first, at most `limit` of them.
    /// With `remoteIP`, only the edges of that peer.
    static func tcpHealth(time: Double, snapshot: TCPHealthSnapshot?, limit: Int, remoteIP: IPAddress? = nil,
                          labels: (IPAddress) -> InventoryHost) -> JSONValue {
        let health = snapshot ?? TCPHealthSnapshot()
        let order = health.keys.indices.filter { remoteIP == nil || health.keys[$0].peer == remoteIP }.sorted { a, b in
            let x = health.edges[a], y = health.edges[b]
            if x.attempts != y.attempts { return x.attempts > y.attempts }
            let p = health.keys[a], q = health.keys[b]
            if p.peer != q.peer { return p.peer < q.peer }
            if p.port != q.port { return p.port < q.port }
            if p.upstream != q.upstream { return !p.upstream }
            return p.process < q.process
        }
        let bounds = TCPHealth.bucketBounds.map { JSONValue.number(Double($0) / 1e6) }
        return .object([
            ("time", .number(time)),
            ("enabled", .bool(snapshot != nil)),
            ("edges_total", .unsigned(UInt64(health.keys.count))),
            ("max_edges", .unsigned(UInt64(health.maxEdges))),
            ("untracked_handshakes", .unsigned(health.untrackedHandshakes)),
            ("edge_limit_events", .unsigned(health.droppedEvents)),
            ("held_events", .unsigned(UInt64(health.heldEvents))),
            ("bucket_bounds_seconds", .array(bounds)),
            // Microseconds and percent: JSON numbers here are rounded to a thousandth.
            ("rtt_bucket_bounds_microseconds", .array(TCPHealth.rttBucketBounds.map { .unsigned($0) })),
            ("evicted_connections", .unsigned(health.evictedConnections)),
            ("loss_percent_amber", .number(lossPercentAmber)),
            ("loss_percent_red", .number(lossPercentRed)),
            ("edges", .array(order.prefix(limit).map { index -> JSONValue in
                let key = health.keys[index], edge = health.edges[index]
                let host = labels(key.peer)
                var buckets: [JSONValue] = []
                for i in edge.buckets.indices { buckets.append(.unsigned(edge.buckets[i])) }
                let handshakes = edge.handshakes
                return .object([
                    ("direction", .string(key.directionLabel)),
                    ("remote_ip", .string(key.peer.description)),
                    ("remote_hostgroup", .string(host.hostgroup)),
                    ("remote_domain", .string(host.domain)),
                    ("port", .string(key.portLabel)),
                    ("protocol", .string("tcp")),
                    ("process", .string(key.process)),
                    ("process_unit", .string(key.unit)),
                    ("attempts", .unsigned(edge.attempts)),
                    ("established", .unsigned(edge.established)),
                    ("refused", .unsigned(edge.refused)),
                    ("timed_out", .unsigned(edge.timedOut)),
                    ("reset", .unsigned(edge.reset)),
                    ("handshakes", .unsigned(handshakes)),
                    // Microseconds, as integers: a handshake inside a data centre takes tens of them,
                    // below the thousandth that JSON numbers are rounded to here.
                    ("handshake_mean_microseconds", handshakes == 0 ? .null
                        : .unsigned((edge.handshakeMicroseconds + handshakes / 2) / handshakes)),
                    ("handshake_buckets", .array(buckets)),
                    ("loss_percent", lossPercent(edge).map { .number($0) } ?? .null),
                    ("rtt_p50_microseconds", microseconds(edge.local.rttQuantile(0.5))),
                    ("rtt_p95_microseconds", microseconds(edge.local.rttQuantile(0.95))),
                    ("stalls", .unsigned(stalls(edge))),
                    ("senders", .object([("local", sender(edge.local)), ("remote", sender(edge.remote))])),
                ])
            })),
        ])
    }

    /// Loss, in percent, past which the page draws an edge amber and red.
    static let lossPercentAmber = 0.5
    static let lossPercentRed = 2.0

    /// Retransmitted over data segments, both senders together, in percent; nil without data.
    static func lossPercent(_ edge: TCPEdgeHealth) -> Double? {
        let data = edge.local.dataSegments &+ edge.remote.dataSegments
        guard data > 0 else { return nil }
        return 100 * Double(edge.local.retransmissions &+ edge.remote.retransmissions) / Double(data)
    }

    /// Times the edge's connections stalled on a receive window, both senders together:
    /// zero-window advertisements and window-full episodes.
    static func stalls(_ edge: TCPEdgeHealth) -> UInt64 {
        edge.local.zeroWindows &+ edge.remote.zeroWindows &+ edge.local.windowFullStalls &+ edge.remote.windowFullStalls
    }

    /// A quantile in seconds as whole microseconds; null without samples.
    static func microseconds(_ seconds: Double?) -> JSONValue {
        seconds.map { .unsigned(UInt64(($0 * 1e6).rounded())) } ?? .null
    }

    /// One sender's planet_tcp_* connection-analysis figures.
    static func sender(_ s: TCPSenderHealth) -> JSONValue {
        var buckets: [JSONValue] = []
        for i in s.rttBuckets.indices { buckets.append(.unsigned(s.rttBuckets[i])) }
        return .object([
            ("data_segments", .unsigned(s.dataSegments)),
            ("retransmitted_segments", .unsigned(s.retransmissions)),
            ("out_of_order_segments", .unsigned(s.outOfOrder)),
            ("zero_window_segments", .unsigned(s.zeroWindows)),
            ("duplicate_ack_runs", .unsigned(s.duplicateAckRuns)),
            ("window_full_stalls", .unsigned(s.windowFullStalls)),
            ("rtt_samples_timestamp", .unsigned(s.timestampSamples)),
            ("rtt_samples_ack", .unsigned(s.ackSamples)),
            ("rtt_sum_microseconds", .unsigned(s.rttMicroseconds)),
            ("rtt_buckets", .array(buckets)),
            ("rtt_p50_microseconds", microseconds(s.rttQuantile(0.5))),
            ("rtt_p95_microseconds", microseconds(s.rttQuantile(0.95))),
            ("closed_fin", .unsigned(s.finFirst)),
            ("closed_rst", .unsigned(s.rstFirst)),
        ])
    }
}
