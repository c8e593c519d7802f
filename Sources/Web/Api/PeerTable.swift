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
    private var positions: PeerPositions

    /// Groups the series of `activity` by peer.
    init(_ activity: TrafficActivity) {
        self.activity = activity
        let keys = activity.snapshot.keys
        nextSeries = [Int32](repeating: -1, count: keys.count)
        positions = PeerPositions(capacity: keys.count)
        peers.reserveCapacity(keys.count)
        for series in keys.indices {
            let key = keys[series]
            let position: Int
            if let known = positions.find(key.peer, in: peers) {
                position = known
            } else {
                position = peers.count
                positions.insert(key.peer, at: position)
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
    func peer(_ ip: IPAddress) -> Peer? { positions.find(ip, in: peers).map { peers[$0] } }

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
        let peers = self.peers
        let selected = filter.matchesEverything ? Array(peers.indices) : peers.indices.filter { matches(peers[$0], filter, labels) }
        let ascending = query.order == .asc
        // Ties go by address, so the order is total and any correct sort gives the same rows.
        func by<T: Comparable>(_ values: [T]) -> (Int, Int) -> Bool {
            { a, b in
                let x = values[a], y = values[b]
                if x != y { return ascending ? x < y : x > y }
                return peers[a].ip < peers[b].ip
            }
        }
        let before: (Int, Int) -> Bool
        switch query.sort {
        case .bytes: before = by(peers.map(\.bytes))
        case .in: before = by(peers.map(\.ingressBytes))
        case .out: before = by(peers.map(\.egressBytes))
        case .rate: before = by(peers.map(\.rate))
        case .lastSeen: before = by(peers.map(\.lastActive))
        case .ip: before = { ascending ? peers[$0].ip < peers[$1].ip : peers[$1].ip < peers[$0].ip }
        case .hostgroup:
            var groups = [String](repeating: "", count: peers.count)
            for position in selected { groups[position] = labels(peers[position].ip).hostgroup }
            before = by(groups)
        }
        let start = min(query.offset, selected.count)
        let end = min(selected.count, start + query.limit)
        let ordered = Self.first(end, of: selected, by: before)
        return (selected.count, ordered[start..<end].map { peers[$0] })
    }

    /// The first `count` of `items` in the order `before`, sorted: a bounded heap when
    /// that is a small part of them (the first pages of a large table), a sort otherwise.
    static func first(_ count: Int, of items: [Int], by before: (Int, Int) -> Bool) -> [Int] {
        guard count > 0 else { return [] }
        guard count < items.count / 4 else { return Array(items.sorted(by: before).prefix(count)) }
        // A heap whose root is the last of the rows kept so far.
        var heap: [Int] = []
        heap.reserveCapacity(count)
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { return }
                var last = left
                if left + 1 < heap.count, before(heap[left], heap[left + 1]) { last = left + 1 }
                guard before(heap[parent], heap[last]) else { return }
                heap.swapAt(parent, last)
                parent = last
            }
        }
        for item in items {
            if heap.count < count {
                heap.append(item)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard before(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if before(item, heap[0]) {
                heap[0] = item
                siftDown(0)
            }
        }
        return heap.sorted(by: before)
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
            if filter.matches(label: activity.snapshot.processUnit(key.process)) { return true }
            if let port = key.servicePort, filter.matches(port: port, protocol: key.protocolLabel) { return true }
        }
        return false
    }

    /// A peer's distinct ports ("443/tcp"; the protocol alone when it has none), process
    /// names and process units, sorted.
    func portsAndProcesses(of peer: Peer) -> (ports: [String], processes: [String], units: [String]) {
        var ports = Set<PortLabel>()
        var processes = Set<String>()
        var units = Set<String>()
        let keys = activity.snapshot.keys
        for series in series(of: peer) {
            let key = keys[series]
            ports.insert(PortLabel(ipProtocol: key.ipProtocol, port: key.servicePort))
            let name = activity.snapshot.processName(key.process)
            if !name.isEmpty { processes.insert(name) }
            let unit = activity.snapshot.processUnit(key.process)
            if !unit.isEmpty { units.insert(unit) }
        }
        return (ports.sorted().map(\.text), processes.sorted(), units.sorted())
    }
}

/// Peer address -> row, open addressing over the rows themselves: grouping 200,000
/// series by peer costs a few multiplies and usually one probe each, where a Dictionary of
/// IPAddress spent most of the request hashing with SipHash. Seeded per table, so peers
/// chosen from one /64 cannot make every request probe one long run.
struct PeerPositions {
    private var slots: [Int32]
    private let mask: Int
    private let seed: UInt64

    /// Room for `capacity` peers at a load of at most one half.
    init(capacity: Int, seed: UInt64 = SeededHash.randomSeed()) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        self.seed = seed
    }

    private func start(_ ip: IPAddress) -> Int {
        Int(truncatingIfNeeded: SeededHash.mix(seed: seed, ip.high, ip.low, 0)) & mask
    }

    /// The row of `ip` in `peers`, if it has one.
    func find(_ ip: IPAddress, in peers: [PeerTable.Peer]) -> Int? {
        var slot = start(ip)
        while slots[slot] >= 0 {
            if peers[Int(slots[slot])].ip == ip { return Int(slots[slot]) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// Records that `ip`, not yet present, is row `position`.
    mutating func insert(_ ip: IPAddress, at position: Int) {
        var slot = start(ip)
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(position)
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
