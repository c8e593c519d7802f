import Inventory
import NetAddress
import PlanetMetrics
import Traffic

extension ApiDocuments {
    /// GET /api/v1/tcp: connection health per dependency edge, the edges with the most
    /// attempts first, at most `limit` of them.
    static func tcpHealth(time: Double, snapshot: TCPHealthSnapshot?, limit: Int, labels: (IPAddress) -> InventoryHost) -> JSONValue {
        let health = snapshot ?? TCPHealthSnapshot()
        let order = health.keys.indices.sorted { a, b in
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
                ])
            })),
        ])
    }
}
