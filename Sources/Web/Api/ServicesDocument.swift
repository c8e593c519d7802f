import Diagnostics
import Hummingbird
import Inventory
import NetAddress
import Sockets
import Traffic

/// One port this host serves, with the traffic of its clients.
struct ServiceRow {
    var service: LocalService
    var ingressBytes: UInt64 = 0
    var egressBytes: UInt64 = 0
    var ingressRate = 0.0
    var egressRate = 0.0
    /// Per client: bytes in and out, and bytes/s.
    var clients: [IPAddress: (ingress: UInt64, egress: UInt64, rate: Double)] = [:]
    var tcp = TCPEdgeHealth()
    var tcpEdges = 0
}

/// GET /api/v1/services: each port this host serves, from the socket table (listening TCP
/// sockets, UDP servers, and the ports of downstream edges) and from the counting rules
/// (local ports that answered TCP handshakes, UDP ports that more than one peer sent to),
/// with its process, the bytes and rates of its clients, how many there are and the
/// busiest of them, and (TCP) the connection health of its downstream edges.
enum ServicesDocument {
    struct Key: Hashable {
        var port: UInt16
        var ipProtocol: UInt8
        var process: String
        var unit: String
    }

    /// The services of `report` with the traffic of `activity`: a traffic series belongs to a
    /// service when its port, protocol, process and unit are the service's and its peer is
    /// not an upstream of the same process on that port (a process that serves 443 and
    /// calls another host's 443).
    static func rows(report: DependencyReport, activity: TrafficActivity?) -> [ServiceRow] {
        var positions: [Key: Int] = [:]
        var rows: [ServiceRow] = []
        let served = report.services + report.downstreams.map {
            LocalService(protocol: $0.protocol, port: $0.port, processName: $0.processName, processUnit: $0.processUnit)
        }
        for service in served {
            let key = Key(port: service.port, ipProtocol: service.protocol.rawValue, process: service.processName, unit: service.processUnit)
            guard positions[key] == nil else { continue }
            positions[key] = rows.count
            rows.append(ServiceRow(service: service))
        }
        let upstream = Set(report.upstreams.map {
            UpstreamKey(peer: $0.remoteAddress, key: Key(port: $0.port, ipProtocol: $0.protocol.rawValue, process: $0.processName, unit: $0.processUnit))
        })
        if let activity {
            let snapshot = activity.snapshot
            // What the counting rules learned from the packets: a local port that accepted a
            // TCP connection (a downstream edge of the handshake table with an established
            // one; not the folded edge of ports that never accepted) is served, even when the
            // socket table has not shown its listener (gone, or not read yet).
            let health = snapshot.tcpHealth
            for index in health.keys.indices where !health.keys[index].upstream {
                let edge = health.keys[index]
                guard edge.port != 0, health.edges[index].established > 0 else { continue }
                let key = Key(port: edge.port, ipProtocol: 6, process: edge.process, unit: edge.unit)
                guard positions[key] == nil else { continue }
                positions[key] = rows.count
                rows.append(ServiceRow(service: LocalService(protocol: .tcp, port: edge.port, processName: edge.process, processUnit: edge.unit)))
            }
            let learnedUDP = Set(snapshot.udpServerPorts)
            for series in snapshot.keys.indices {
                let traffic = snapshot.keys[series]
                guard let port = traffic.servicePort else { continue }
                let key = Key(port: port, ipProtocol: traffic.ipProtocol, process: snapshot.processName(traffic.process),
                              unit: snapshot.processUnit(traffic.process))
                guard !upstream.contains(UpstreamKey(peer: traffic.peer, key: key)) else { continue }
                // A UDP port the counting rules learned is a server: its process serves it.
                if positions[key] == nil, traffic.ipProtocol == 17, learnedUDP.contains(port) {
                    positions[key] = rows.count
                    rows.append(ServiceRow(service: LocalService(protocol: .udp, port: port, processName: key.process, processUnit: key.unit)))
                }
                guard let position = positions[key] else { continue }
                let bytes = snapshot.counters[series].bytes, rate = activity.rates[series]
                var client = rows[position].clients[traffic.peer] ?? (0, 0, 0)
                if traffic.direction == .egress {
                    rows[position].egressBytes &+= bytes
                    rows[position].egressRate += rate
                    client.egress &+= bytes
                } else {
                    rows[position].ingressBytes &+= bytes
                    rows[position].ingressRate += rate
                    client.ingress &+= bytes
                }
                client.rate += rate
                rows[position].clients[traffic.peer] = client
            }
            for index in health.keys.indices where !health.keys[index].upstream {
                let edge = health.keys[index]
                guard let position = positions[Key(port: edge.port, ipProtocol: 6, process: edge.process, unit: edge.unit)] else { continue }
                let figures = health.edges[index]
                rows[position].tcp.attempts &+= figures.attempts
                rows[position].tcp.established &+= figures.established
                rows[position].tcp.refused &+= figures.refused
                rows[position].tcp.timedOut &+= figures.timedOut
                rows[position].tcp.reset &+= figures.reset
                rows[position].tcp.handshakeMicroseconds &+= figures.handshakeMicroseconds
                for bucket in figures.buckets.indices { rows[position].tcp.buckets[bucket] &+= figures.buckets[bucket] }
                rows[position].tcpEdges += 1
            }
        }
        return rows.sorted { ($0.service.port, $0.service.protocol.rawValue, $0.service.processName) < ($1.service.port, $1.service.protocol.rawValue, $1.service.processName) }
    }

    struct UpstreamKey: Hashable {
        var peer: IPAddress
        var key: Key
    }

    /// The document: services by port, each with its `top` busiest clients.
    static func document(time: Double, succeeded: Bool, rows: [ServiceRow], top: Int, dnsName: (IPAddress) -> String,
                         labels: (IPAddress) -> InventoryHost) -> JSONValue {
        .object([
            ("time", .number(time)),
            ("succeeded", .bool(succeeded)),
            ("services", .array(rows.map { row in
                let ranked = row.clients.sorted { a, b in
                    let x = a.value.ingress &+ a.value.egress, y = b.value.ingress &+ b.value.egress
                    return x != y ? x > y : a.key < b.key
                }
                let handshakes = row.tcp.handshakes
                let tcp: JSONValue = row.service.protocol != .tcp ? .null : .object([
                    ("edges", .unsigned(UInt64(row.tcpEdges))),
                    ("attempts", .unsigned(row.tcp.attempts)),
                    ("established", .unsigned(row.tcp.established)),
                    ("refused", .unsigned(row.tcp.refused)),
                    ("timed_out", .unsigned(row.tcp.timedOut)),
                    ("reset", .unsigned(row.tcp.reset)),
                    ("handshake_mean_microseconds", handshakes == 0 ? .null : .unsigned((row.tcp.handshakeMicroseconds + handshakes / 2) / handshakes)),
                ])
                return .object([
                    ("protocol", .string(row.service.protocol.label)),
                    ("port", .string(String(row.service.port))),
                    ("process", .string(row.service.processName)),
                    ("process_unit", .string(row.service.processUnit)),
                    ("ingress_bytes", .unsigned(row.ingressBytes)),
                    ("egress_bytes", .unsigned(row.egressBytes)),
                    ("ingress_rate", .number(row.ingressRate)),
                    ("egress_rate", .number(row.egressRate)),
                    ("rate", .number(row.ingressRate + row.egressRate)),
                    ("clients", .unsigned(UInt64(row.clients.count))),
                    ("top_clients", .array(ranked.prefix(top).map { client in
                        let host = labels(client.key)
                        return .object([
                            ("ip", .string(client.key.description)),
                            ("dns_name", .string(dnsName(client.key))),
                            ("hostgroup", .string(host.hostgroup)),
                            ("domain", .string(host.domain)),
                            ("ingress_bytes", .unsigned(client.value.ingress)),
                            ("egress_bytes", .unsigned(client.value.egress)),
                            ("rate", .number(client.value.rate)),
                        ])
                    })),
                    ("tcp", tcp),
                ])
            })),
        ])
    }

    static func add(to router: Router<BasicRequestContext>, sources: WebUISources) {
        router.get("/api/v1/services") { request, _ -> Response in
            var top = 5
            for (key, value) in ApiRoutes.parameters(request) {
                guard key == "top", let number = Int(value), (1...100).contains(number) else {
                    return ApiRoutes.badRequest(QueryError(message: "unknown parameter or value \(quoted(key))=\(quoted(value)); this endpoint takes top=1..100"))
                }
                top = number
            }
            let capture = sources.capture?()
            let reading = sources.dependencies?()
            let services = reading?.report.map { ServicesDocument.rows(report: $0, activity: capture?.activity) } ?? []
            let enrichment = sources.enrichment()
            let names = capture?.activity.snapshot.dnsNames
            return ApiRoutes.json(document(time: capture?.activity.time ?? sources.now(), succeeded: reading?.succeeded ?? false,
                                           rows: services, top: top, dnsName: { names?.name(for: $0) ?? "" },
                                           labels: ApiRoutes.labeller(enrichment)))
        }
    }
}
