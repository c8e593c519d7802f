import Inventory
import NetAddress
import Sockets
import Traffic

/// A dependency edge with the traffic on it: the PromQL join of docs/metrics.md done in the agent.
///
/// Edges are keyed as the join matches them, by remote IP, port, protocol and process
/// (name and unit; the local address is not part of it: an edge seen on several local
/// addresses is one edge listing them all), and take the bytes of every traffic series
/// with the same remote_ip, port, protocol, process_name and process_unit, per direction.
struct JoinedEdge: Equatable {
    enum Kind: String { case upstream, downstream }

    var kind: Kind
    var remote: IPAddress
    var port: UInt16
    var proto: TransportProtocol
    var process: String
    /// The process's systemd unit or container ("" when none is known).
    var unit = ""
    var localAddresses: [IPAddress]
    var ingressBytes: UInt64 = 0
    var egressBytes: UInt64 = 0
    var ingressRate = 0.0
    var egressRate = 0.0
    /// The name the host asked DNS for that answered `remote` ("" when none).
    var dnsName = ""

    var bytes: UInt64 { ingressBytes &+ egressBytes }
    var rate: Double { ingressRate + egressRate }
}

enum DependencyJoin {
    struct Key: Hashable {
        var remote: IPAddress
        var port: UInt16
        var ipProtocol: UInt8
        var process: String
        var unit: String
    }

    /// The upstream and downstream edges of `report`, each with its traffic from
    /// `activity` (none when capture is off), in the report's order.
    static func edges(_ report: DependencyReport, activity: TrafficActivity?) -> [JoinedEdge] {
        var edges: [JoinedEdge] = []
        var positions: [Key: Int] = [:]
        for (kind, list) in [(JoinedEdge.Kind.upstream, report.upstreams), (.downstream, report.downstreams)] {
            for edge in list {
                let key = Key(remote: edge.remoteAddress, port: edge.port, ipProtocol: edge.protocol.rawValue, process: edge.processName,
                              unit: edge.processUnit)
                if let known = positions[key] {
                    if !edges[known].localAddresses.contains(edge.localAddress) { edges[known].localAddresses.append(edge.localAddress) }
                    continue
                }
                positions[key] = edges.count
                edges.append(JoinedEdge(kind: kind, remote: edge.remoteAddress, port: edge.port, proto: edge.protocol,
                                        process: edge.processName, unit: edge.processUnit, localAddresses: [edge.localAddress],
                                        dnsName: activity?.snapshot.dnsNames.name(for: edge.remoteAddress) ?? ""))
            }
        }
        guard let activity, !edges.isEmpty else { return edges }
        let remotes = Set(edges.map(\.remote))
        let snapshot = activity.snapshot
        for series in snapshot.keys.indices {
            let key = snapshot.keys[series]
            guard remotes.contains(key.peer), let port = key.servicePort,
                  let position = positions[Key(remote: key.peer, port: port, ipProtocol: key.ipProtocol,
                                               process: snapshot.processName(key.process),
                                               unit: snapshot.processUnit(key.process))] else { continue }
            if key.direction == .egress {
                edges[position].egressBytes &+= snapshot.counters[series].bytes
                edges[position].egressRate += activity.rates[series]
            } else {
                edges[position].ingressBytes &+= snapshot.counters[series].bytes
                edges[position].ingressRate += activity.rates[series]
            }
        }
        return edges
    }
}
