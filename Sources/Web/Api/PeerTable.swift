import Inventory
import NetAddress
import Traffic

/// Traffic per peer, darkstat's hosts table: one row per remote address, summed over
/// direction, protocol, port and process, from one TrafficActivity (the snapshot a
/// scrape renders), so every figure adds up to the planet_traffic_bytes_total series.
struct PeerTable {
    struct Peer {
        var ip: IPAddress
        var ingressBytes: UInt64 = 0
        var egressBytes: UInt64 = 0
        var ingressRate = 0.0
        var egressRate = 0.0
        var lastActive: UInt64 = 0
        /// The peer's series as a chain through `nextSeries` (-1 ends it).
        var firstSeries: Int32 = -1
        var seriesCount = 0

        var bytes: UInt64 { ingressBytes &+ egressBytes }
        var rate: Double { ingressRate + egressRate }
    }

    let activity: TrafficActivity
    private(set) var peers: [Peer] = []
    private var nextSeries: [Int32]
    private var positions: [IPAddress: Int32] = [:]

    /// Groups the series of `activity` by peer.
    init(_ activity: TrafficActivity) {
        self.activity = activity
        let keys = activity.snapshot.keys
        nextSeries = [Int32](repeating: -1, count: keys.count)
        positions.reserveCapacity(keys.count / 2)
        for series in keys.indices {
            let key = keys[series]
            let position: Int
            if let known = positions[key.peer] {
                position = Int(known)
            } else {
                position = peers.count
                positions[key.peer] = Int32(position)
                peers.append(Peer(ip: key.peer))
            }
            let bytes = activity.snapshot.counters[series].bytes
            let rate = activity.rates[series]
            if key.direction == .egress {
                peers[position].egressBytes &+= bytes
                peers[position].egressRate += rate
            } else {
                peers[position].ingressBytes &+= bytes
                peers[position].ingressRate += rate
            }
            peers[position].lastActive = max(peers[position].lastActive, activity.lastActive[series])
            nextSeries[series] = peers[position].firstSeries
            peers[position].firstSeries = Int32(series)
            peers[position].seriesCount += 1
        }
    }

    /// The row of `ip`, if it has traffic.
    func peer(_ ip: IPAddress) -> Peer? { positions[ip].map { peers[Int($0)] } }

    /// The snapshot indexes of a peer's series.
    func series(of peer: Peer) -> [Int] {
        var out: [Int] = []
        var next = peer.firstSeries
        while next >= 0 {
            out.append(Int(next))
            next = nextSeries[Int(next)]
        }
        return out
    }

    /// The peers `query` selects: how many match, and the rows of the requested page
    /// in the requested order (ties by address, ascending).
    func select(_ query: PeersQuery, labels: (IPAddress) -> InventoryHost) -> (matched: Int, page: [Peer]) {
        let filter = PeerFilter(query.filter)
        var selected = filter.matchesEverything ? Array(peers.indices) : peers.indices.filter { matches(peers[$0], filter, labels) }
        let ascending = query.order == .asc
        func ordered<T: Comparable>(_ value: (Peer) -> T) {
            selected.sort { a, b in
                let x = value(peers[a]), y = value(peers[b])
                if x != y { return ascending ? x < y : x > y }
                return peers[a].ip < peers[b].ip
            }
        }
        switch query.sort {
        case .bytes: ordered(\.bytes)
        case .in: ordered(\.ingressBytes)
        case .out: ordered(\.egressBytes)
        case .rate: ordered(\.rate)
        case .lastSeen: ordered(\.lastActive)
        case .ip:
            selected.sort { ascending ? peers[$0].ip < peers[$1].ip : peers[$1].ip < peers[$0].ip }
        case .hostgroup:
            var groups = [String](repeating: "", count: peers.count)
            for position in selected { groups[position] = labels(peers[position].ip).hostgroup }
            selected.sort { a, b in
                if groups[a] != groups[b] { return ascending ? groups[a] < groups[b] : groups[a] > groups[b] }
                return peers[a].ip < peers[b].ip
            }
        }
        let start = min(query.offset, selected.count)
        let end = min(selected.count, start + query.limit)
        return (selected.count, selected[start..<end].map { peers[$0] })
    }

    private func matches(_ peer: Peer, _ filter: PeerFilter, _ labels: (IPAddress) -> InventoryHost) -> Bool {
        if let network = filter.network { return network.contains(peer.ip) }
        if filter.mayBeAddress && peer.ip.description.hasPrefix(filter.text) { return true }
        let host = labels(peer.ip)
        if filter.matches(label: host.hostgroup) || filter.matches(label: host.domain) { return true }
        let keys = activity.snapshot.keys
        for series in series(of: peer) {
            let key = keys[series]
            if filter.matches(label: activity.snapshot.processName(key.process)) { return true }
            if let port = key.servicePort, filter.matches(port: port, protocol: key.protocolLabel) { return true }
        }
        return false
    }

    /// A peer's distinct ports ("443/tcp"; the protocol alone when it has none) and
    /// process names, sorted.
    func portsAndProcesses(of peer: Peer) -> (ports: [String], processes: [String]) {
        var ports = Set<PortLabel>()
        var processes = Set<String>()
        let keys = activity.snapshot.keys
        for series in series(of: peer) {
            let key = keys[series]
            ports.insert(PortLabel(ipProtocol: key.ipProtocol, port: key.servicePort))
            let name = activity.snapshot.processName(key.process)
            if !name.isEmpty { processes.insert(name) }
        }
        return (ports.sorted().map(\.text), processes.sorted())
    }
}

/// A service port and its protocol as the page lists them: "443/tcp", or "icmp".
struct PortLabel: Hashable, Comparable {
    var ipProtocol: UInt8
    var port: UInt16?

    var text: String {
        let name = TrafficKey.protocolLabel(ipProtocol)
        return port.map { "\($0)/\(name)" } ?? name
    }

    static func < (lhs: PortLabel, rhs: PortLabel) -> Bool {
        if lhs.port != rhs.port { return (lhs.port.map { Int($0) } ?? -1) < (rhs.port.map { Int($0) } ?? -1) }
        return lhs.ipProtocol < rhs.ipProtocol
    }
}

extension PeerFilter {
    /// True when the filter is the port ("443") or the port and protocol ("443/tcp").
    func matches(port: UInt16, protocol name: String) -> Bool {
        text == String(port) || text == "\(port)/\(name)"
    }
}
