#if canImport(Glibc)
import Glibc
#endif
import NetAddress
import PacketDecoding

/// A dependency edge as the TCP health counters see it: the remote address, the service
/// port, which side opened the connection, and the local process.
public struct TCPEdgeKey: Hashable, Sendable {
    /// The non-local end.
    public var peer: IPAddress
    /// The service port (the remote port upstream, the local port downstream); 0 for the
    /// edge that folds the attempts to ports that never accepted a connection (label "").
    public var port: UInt16
    /// True when a local socket opened the connection (an upstream edge).
    public var upstream: Bool
    /// The local process ("" when the socket table does not name one).
    public var process: String
    /// The local process's systemd unit or container ("" when none is known).
    public var unit: String

    public init(peer: IPAddress, port: UInt16, upstream: Bool, process: String, unit: String = "") {
        self.peer = peer
        self.port = port
        self.upstream = upstream
        self.process = process
        self.unit = unit
    }

    /// The `direction` label value: upstream or downstream.
    public var directionLabel: String { upstream ? "upstream" : "downstream" }

    /// The `port` label value: "" for the folded edge.
    public var portLabel: String { port == 0 ? "" : String(port) }
}

/// The connection counters of one edge and its handshake-time histogram.
public struct TCPEdgeHealth: Sendable {
    /// SYNs that opened a connection (a retransmitted SYN is not counted again).
    public var attempts: UInt64 = 0
    /// Handshakes completed: SYN/ACK received upstream, the peer's ACK downstream.
    public var established: UInt64 = 0
    /// SYNs answered by a RST.
    public var refused: UInt64 = 0
    /// Handshakes with no answer within `TCPHealth.handshakeTimeout`.
    public var timedOut: UInt64 = 0
    /// Connections ended by a RST after their SYN was answered.
    public var reset: UInt64 = 0
    /// Handshakes per bucket of `TCPHealth.bucketBounds`, not cumulative; the last
    /// bucket is +Inf.
    /// Inline, so counting never copies or allocates.
    public var buckets = InlineArray<7, UInt64>(repeating: 0)
    /// The handshake times summed, in microseconds.
    public var handshakeMicroseconds: UInt64 = 0
    /// What the local and the remote ends of the edge's connections sent, and their round trips.
    public var local = TCPSenderHealth()
    public var remote = TCPSenderHealth()

    public init() {}

    /// Handshakes timed (the histogram's count).
    public var handshakes: UInt64 {
        var total: UInt64 = 0
        for i in buckets.indices { total &+= buckets[i] }
        return total
    }

    mutating func apply(_ event: TCPHealth.Event, micros: UInt64) {
        switch event {
        case .attempt: attempts &+= 1
        case .established:
            established &+= 1
            handshakeMicroseconds &+= micros
            buckets[TCPHealth.bucket(micros)] &+= 1
        case .refused: refused &+= 1
        case .timedOut: timedOut &+= 1
        case .reset: reset &+= 1
        }
    }
}

/// What the TCP health tracker holds at one moment, copied for a scrape.
public struct TCPHealthSnapshot: Sendable {
    public var keys: [TCPEdgeKey] = []
    public var edges: [TCPEdgeHealth] = []
    /// Handshakes lost from the handshake table before their end (another connection's
    /// SYN took their slot).
    public var untrackedHandshakes: UInt64 = 0
    /// Events not counted because the edge table was full.
    public var droppedEvents: UInt64 = 0
    /// Edges removed after `TCPHealth.edgeIdleTimeout` without an event.
    public var agedOutEdges: UInt64 = 0
    /// Events waiting for the next socket-table reading to name their process.
    public var heldEvents: Int = 0
    /// Most edges kept.
    public var maxEdges: Int = 0
    /// Connections whose slot in the connection table a new connection took before they
    /// ended (their counts until then are on their edge).
    public var evictedConnections: UInt64 = 0

    public init() {}
}

/// Connection health per dependency edge, from the TCP flags of the packets the traffic
/// accounting classifies: attempts, established, refused, timed out and reset
/// connections, and the handshake time (SYN to SYN/ACK upstream, SYN/ACK to ACK
/// downstream).
///
/// Half-open handshakes live in a fixed table of sets of `handshakeWays` slots, the set
/// chosen by a seeded hash of the 4-tuple, so a packet never allocates; a handshake whose
/// slot another connection's SYN takes before it ends is counted as untracked. A new
/// connection takes an empty slot of its set first, then the oldest that holds no
/// handshake, so the ended connections kept for their repeated RSTs outlive a collision.
/// Time is the packets' own capture time, so a replay gives the figures the live run
/// gave. Not thread-safe: the traffic accounting calls it under the aggregator's lock.
public final class TCPHealth {
    /// Upper bounds of the handshake-time histogram's buckets, in microseconds.
    public static let bucketBounds: [UInt64] = [1_000, 5_000, 25_000, 100_000, 500_000, 2_500_000]
    /// A handshake not answered within this long (by packet time) is timed out: Linux
    /// sends SYNs at 0, 1 and 3 seconds, so this leaves the third 2 seconds to be answered.
    public static let handshakeTimeout: UInt64 = 5_000_000
    /// Default bound on edges.
    public static let defaultMaxEdges = 10_000
    /// Most events held for the next socket-table reading; past it they are counted
    /// with process_name="" at once.
    public static let maxHeldEvents = 4096
    /// An edge without an event for this long (packet time) is removed at the next scrape,
    /// or sooner when the edge table is full: a scan's edges do not stay for good.
    public static let edgeIdleTimeout: UInt64 = 15 * 60 * 1_000_000
    /// Ports of one peer and direction that may have an edge of their own before any
    /// connection to them was established; the attempts to further ports are counted on the
    /// peer's folded edge (port 0, label ""), so a port scan makes a handful of edges, not
    /// one per port.
    public static let unconfirmedPortsPerPeer = 4
    /// Slots of a set of the handshake table: a connection may live in any of them.
    static let handshakeWays = 4

    /// An edge's counters, when it last counted an event, and whether a connection on it
    /// was ever established.
    struct EdgeEntry {
        var health = TCPEdgeHealth()
        var lastActive: UInt64 = 0
        var confirmed = false
    }

    /// A peer and direction, for the count of its unconfirmed port edges.
    struct PeerDirection: Hashable {
        var peer: IPAddress
        var upstream: Bool
    }

    /// What happened to a connection.
    enum Event: UInt8 {
        case attempt, established, refused, timedOut, reset
    }

    /// Handshake states of a slot.
    enum State: UInt8 {
        case empty
        /// A local SYN went out (upstream), waiting for the SYN/ACK.
        case synSent
        /// A peer's SYN came in (downstream), waiting for the local SYN/ACK.
        case synReceived
        /// The local SYN/ACK went out, waiting for the peer's ACK.
        case synAckSent
        /// The handshake completed; kept so a later RST counts once as a reset.
        case established
        /// Ended by a RST; kept so repeated RSTs count once.
        case closed
        /// Timed out; kept so the SYN's later retransmissions and a late answer are
        /// not counted again.
        case expired

        var inHandshake: Bool { self == .synSent || self == .synReceived || self == .synAckSent }
    }

    struct Slot {
        var local: IPAddress
        var remote: IPAddress
        var start: UInt64
        var localPort: UInt16
        var remotePort: UInt16
        var servicePort: UInt16
        var state: State
        var upstream: Bool
        /// The window-scale option of the opening SYN: its shift plus one, 0 without one.
        /// The connection table takes a connection from its SYN/ACK and learns from here
        /// the scale the opener's windows carry.
        var synWindowScale: UInt8 = 0

        func matches(_ local: IPAddress, _ localPort: UInt16, _ remote: IPAddress, _ remotePort: UInt16) -> Bool {
            self.localPort == localPort && self.remotePort == remotePort && self.local == local && self.remote == remote
        }
    }

    struct HeldEvent {
        var slot: Slot
        var micros: UInt64
        var event: Event
    }

    private let slots: UnsafeMutablePointer<Slot>
    /// Masks a hash to the first slot of its set.
    private let setMask: Int
    /// Slots of a set: `handshakeWays`, or the whole table when it is smaller.
    private let ways: Int
    let seed: UInt64
    private let held: UnsafeMutablePointer<HeldEvent>
    @exclusivity(unchecked) private var heldCount = 0
    /// Slots in a handshake state, and those waiting for an ACK: a packet without SYN
    /// or RST looks at the table only while some handshake waits for its ACK.
    @exclusivity(unchecked) private var inHandshake = 0
    @exclusivity(unchecked) private var awaitingAck = 0
    /// The time handshakes are timed out against, microseconds since 1970: the latest
    /// handshake packet, or later (`advanceClock`, `clock`).
    @exclusivity(unchecked) public internal(set) var now: UInt64 = 0
    /// The capture clock of a live capture, read at each snapshot so that a handshake
    /// nobody answers times out even when no later TCP packet comes; nil in replay, which
    /// passes the latest packet's time to `advanceClock` instead.
    @exclusivity(unchecked) public var clock: (@Sendable () -> UInt64)? = nil
    @exclusivity(unchecked) private var edges: [TCPEdgeKey: EdgeEntry] = [:]
    /// Edges of a port, not the folded one, without an established connection, per peer and direction.
    @exclusivity(unchecked) private var unconfirmed: [PeerDirection: Int] = [:]
    @exclusivity(unchecked) private var untracked: UInt64 = 0
    @exclusivity(unchecked) private var dropped: UInt64 = 0
    @exclusivity(unchecked) private var agedOut: UInt64 = 0
    /// Packet time of the latest sweep for idle edges.
    @exclusivity(unchecked) private var lastSweep: UInt64 = 0
    /// The latest socket-table reading (nil in replay: every process is "").
    @exclusivity(unchecked) var endpoints: EndpointOwners?
    /// The connection table (`TCPConnections.swift`): sets of `connectionWays` slots.
    let connections: UnsafeMutablePointer<Connection>
    let connectionMask: Int
    /// Slots whose counts wait to be added to their edges, each listed once.
    let listedSlots: UnsafeMutablePointer<UInt32>
    @exclusivity(unchecked) var listedCount = 0
    @exclusivity(unchecked) var evictedConnections: UInt64 = 0
    /// The process a socket-table reading named for a connection's slot: its counts stay
    /// with that process after the socket closes. Written when counts reach the edges
    /// (scrapes, readings), never per packet.
    @exclusivity(unchecked) var namedConnections: [Int: ProcessIdentity] = [:]
    /// Slots in the connection table.
    public let connectionTableSize: Int
    public let maxEdges: Int
    /// Slots in the handshake table.
    public let tableSize: Int

    /// A tracker with a handshake table of `tableSize` slots (rounded up to a power of
    /// two) keeping at most `maxEdges` edges.
    /// The connection table holds `connectionTableSize` connections (rounded up likewise).
    public init(maxEdges: Int = defaultMaxEdges, tableSize: Int = 16384, connectionTableSize: Int = 16384,
                seed: UInt64 = SeededHash.randomSeed()) {
        let size = Self.powerOfTwo(atLeast: tableSize)
        self.tableSize = size
        ways = min(Self.handshakeWays, size)
        setMask = (size - 1) & ~(ways - 1)
        self.seed = seed
        self.maxEdges = max(1, maxEdges)
        // All-zero memory is a table of empty slots (`State.empty` is 0). calloc hands a
        // table this size out as fresh zero pages, so an agent that sees few handshakes
        // keeps only the pages it has used resident, not the whole table.
        slots = Self.zeroed(size, of: Slot.self, for: "handshake table")
        held = .allocate(capacity: Self.maxHeldEvents)
        let connectionSlots = max(Self.connectionWays, Self.powerOfTwo(atLeast: connectionTableSize))
        self.connectionTableSize = connectionSlots
        connectionMask = connectionSlots - 1
        connections = Self.zeroed(connectionSlots, of: Connection.self, for: "connection table")
        listedSlots = Self.zeroed(connectionSlots, of: UInt32.self, for: "connection table")
        edges.reserveCapacity(min(self.maxEdges, 1024))
    }

    /// The smallest power of two that is at least `count` and at least 2.
    private static func powerOfTwo(atLeast count: Int) -> Int {
        1 << (Int.bitWidth - (max(count, 2) - 1).leadingZeroBitCount)
    }

    /// `count` zeroed elements from calloc, whose untouched pages stay out of resident memory.
    private static func zeroed<T>(_ count: Int, of _: T.Type, for table: String) -> UnsafeMutablePointer<T> {
        guard let memory = calloc(count, MemoryLayout<T>.stride) else { fatalError("TCP health: cannot allocate its \(table) of \(count) slots") }
        return memory.bindMemory(to: T.self, capacity: count)
    }

    deinit {
        free(slots)
        free(connections)
        free(listedSlots)
        held.deallocate()
    }

    /// Takes one TCP packet of a peer. `fromLocal` says the source is the local end;
    /// `servicePort` is the port the traffic accounting counts the packet under.
    @inline(__always)
    public func observe(_ packet: PacketSummary, fromLocal: Bool, servicePort: UInt16) {
        analyze(packet, fromLocal: fromLocal, servicePort: servicePort)
        let flags = packet.tcpFlags
        // The common packet (data or ACK, no handshake waiting for an ACK) costs these tests.
        if flags & (PacketSummary.tcpSYN | PacketSummary.tcpRST) == 0
            && (awaitingAck == 0 || fromLocal || flags & PacketSummary.tcpACK == 0) { return }
        track(packet, fromLocal: fromLocal, servicePort: servicePort)
    }

    private func track(_ packet: PacketSummary, fromLocal: Bool, servicePort: UInt16) {
        let flags = packet.tcpFlags
        let time = packet.timestamp
        if time > now { now = time }
        let local = fromLocal ? packet.source : packet.destination
        let remote = fromLocal ? packet.destination : packet.source
        let localPort = fromLocal ? packet.sourcePort : packet.destinationPort
        let remotePort = fromLocal ? packet.destinationPort : packet.sourcePort
        let syn = flags & PacketSummary.tcpSYN != 0, rst = flags & PacketSummary.tcpRST != 0, ack = flags & PacketSummary.tcpACK != 0
        let set = slots + setIndex(local, localPort, remote, remotePort)
        let found = find(in: set, local, localPort, remote, remotePort)

        if rst {
            if let slot = found {
                switch slot.pointee.state {
                case .synSent, .synReceived:
                    // The other end answers the SYN with a RST: refused. The opener
                    // resetting its own SYN is an abort, counted as a reset.
                    let answered = slot.pointee.upstream != fromLocal
                    leaveHandshake(slot)
                    slot.pointee.state = .closed
                    record(answered ? .refused : .reset, slot.pointee)
                case .synAckSent, .established:
                    leaveHandshake(slot)
                    slot.pointee.state = .closed
                    record(.reset, slot.pointee)
                case .closed, .expired, .empty:
                    break
                }
                return
            }
            // A connection the table does not hold (older than the agent, or its slot
            // reused): a reset, remembered so its repeated RSTs count once, unless the
            // slot holds a handshake still under way.
            let entry = Slot(local: local, remote: remote, start: time, localPort: localPort, remotePort: remotePort,
                             servicePort: servicePort, state: .closed, upstream: servicePort != localPort)
            let slot = victim(in: set)
            if !slot.pointee.state.inHandshake || expire(slot) { slot.pointee = entry }
            record(.reset, entry)
            return
        }

        if syn && !ack {
            // A retransmitted SYN, or one of a connection already counted, is not a new attempt.
            if let found, found.pointee.state.inHandshake || found.pointee.state == .expired { return }
            // A new connection on the 4-tuple of an ended one takes its slot.
            let slot = found ?? victim(in: set)
            if slot.pointee.state.inHandshake && !expire(slot) {
                untracked &+= 1
                leaveHandshake(slot)
            }
            slot.pointee = Slot(local: local, remote: remote, start: time, localPort: localPort, remotePort: remotePort,
                                servicePort: servicePort, state: fromLocal ? .synSent : .synReceived, upstream: fromLocal,
                                synWindowScale: packet.tcpFields & PacketSummary.tcpWindowScaleRead != 0 ? packet.tcpWindowShift &+ 1 : 0)
            inHandshake += 1
            record(.attempt, slot.pointee)
            return
        }

        guard let slot = found else { return }
        if syn {
            // SYN/ACK.
            if fromLocal {
                guard slot.pointee.state == .synReceived else { return }
                slot.pointee.state = .synAckSent
                slot.pointee.start = time
                awaitingAck += 1
            } else {
                guard slot.pointee.state == .synSent else { return }
                complete(slot, at: time)
            }
            return
        }
        // The peer's ACK of the local SYN/ACK.
        if ack && !fromLocal && slot.pointee.state == .synAckSent {
            complete(slot, at: time)
        }
    }

    /// The window scale the opening SYN of a handshake in progress offered (its shift plus
    /// one, 0 without the option); nil when the table holds no such handshake.
    func openingWindowScale(_ local: IPAddress, _ localPort: UInt16, _ remote: IPAddress, _ remotePort: UInt16) -> UInt8? {
        let set = slots + setIndex(local, localPort, remote, remotePort)
        guard let slot = find(in: set, local, localPort, remote, remotePort), slot.pointee.state.inHandshake else { return nil }
        return slot.pointee.synWindowScale
    }

    private func complete(_ slot: UnsafeMutablePointer<Slot>, at time: UInt64) {
        leaveHandshake(slot)
        slot.pointee.state = .established
        // Packets of different interfaces can be handled out of order: never below 0.
        record(.established, slot.pointee, micros: time > slot.pointee.start ? time - slot.pointee.start : 0)
    }

    /// Updates the handshake gauges for a slot leaving its handshake state.
    private func leaveHandshake(_ slot: UnsafeMutablePointer<Slot>) {
        let state = slot.pointee.state
        if state.inHandshake { inHandshake -= 1 }
        if state == .synAckSent { awaitingAck -= 1 }
    }

    /// Counts the slot's handshake as timed out if its time is up; true when it was.
    private func expire(_ slot: UnsafeMutablePointer<Slot>) -> Bool {
        let start = slot.pointee.start
        guard slot.pointee.state.inHandshake, now > start, now - start > Self.handshakeTimeout else { return false }
        leaveHandshake(slot)
        slot.pointee.state = .expired
        record(.timedOut, slot.pointee)
        return true
    }

    /// Moves the time-out clock to `micros` when that is later: the time of a packet of
    /// any kind, so that traffic other than TCP handshakes tells time too.
    public func advanceClock(to micros: UInt64) {
        if micros > now { now = micros }
    }

    /// Counts handshakes whose time is up as timed out. Called before each snapshot.
    public func expireHandshakes() {
        guard inHandshake > 0 else { return }
        for i in 0..<tableSize { _ = expire(slots + i) }
    }

    /// The first slot of the 4-tuple's set.
    private func setIndex(_ local: IPAddress, _ localPort: UInt16, _ remote: IPAddress, _ remotePort: UInt16) -> Int {
        let hash = SeededHash.mix(seed: seed, remote.low, remote.high ^ local.low ^ (local.high >> 1),
                                  UInt64(localPort) << 16 | UInt64(remotePort))
        return Int(truncatingIfNeeded: hash) & setMask
    }

    /// The slot of the set starting at `set` that holds the 4-tuple, if any.
    @inline(__always)
    private func find(in set: UnsafeMutablePointer<Slot>, _ local: IPAddress, _ localPort: UInt16,
                      _ remote: IPAddress, _ remotePort: UInt16) -> UnsafeMutablePointer<Slot>? {
        for way in 0..<ways {
            let slot = set + way
            if slot.pointee.state != .empty && slot.pointee.matches(local, localPort, remote, remotePort) { return slot }
        }
        return nil
    }

    /// The slot of the set starting at `set` a connection it does not hold takes: an empty
    /// one, else the oldest holding no handshake under way, else the oldest handshake.
    private func victim(in set: UnsafeMutablePointer<Slot>) -> UnsafeMutablePointer<Slot> {
        var victim = set
        for way in 0..<ways {
            let slot = set + way
            if slot.pointee.state == .empty { return slot }
            // An ended connection goes before a handshake; between two of a kind, the older.
            let ended = !slot.pointee.state.inHandshake, victimEnded = !victim.pointee.state.inHandshake
            let goesFirst = ended != victimEnded ? ended : slot.pointee.start < victim.pointee.start
            if goesFirst { victim = slot }
        }
        return victim
    }

    /// Counts an event on its edge, now if the socket table names the local process or
    /// there is no socket table, else at the next reading.
    private func record(_ event: Event, _ slot: Slot, micros: UInt64 = 0) {
        if let endpoints {
            // The event comes with the latest packet, captured at `now`.
            if let process = endpoints.process(ipProtocol: 6, localAddress: slot.local, localPort: slot.localPort, capturedAt: now) {
                count(event, slot, process: process, micros: micros)
            } else if heldCount < Self.maxHeldEvents {
                held[heldCount] = HeldEvent(slot: slot, micros: micros, event: event)
                heldCount += 1
            } else {
                count(event, slot, process: ProcessIdentity(name: ""), micros: micros)
            }
        } else {
            count(event, slot, process: ProcessIdentity(name: ""), micros: micros)
        }
    }

    private func count(_ event: Event, _ slot: Slot, process: ProcessIdentity, micros: UInt64) {
        var key = TCPEdgeKey(peer: slot.remote, port: slot.servicePort, upstream: slot.upstream, process: process.name,
                             unit: process.unit)
        let peer = PeerDirection(peer: slot.remote, upstream: slot.upstream)
        if let index = edges.index(forKey: key) {
            edges.values[index].health.apply(event, micros: micros)
            edges.values[index].lastActive = now
            if event == .established && !edges.values[index].confirmed {
                edges.values[index].confirmed = true
                forget(peer)
            }
            return
        }
        // A new port edge: an established connection proves a listener; anything else
        // gets an edge of its own only while the peer has few such ports.
        var confirmed = event == .established || key.port == 0
        if !confirmed && unconfirmed[peer, default: 0] >= Self.unconfirmedPortsPerPeer {
            key.port = 0
            confirmed = true
            if let index = edges.index(forKey: key) {
                edges.values[index].health.apply(event, micros: micros)
                edges.values[index].lastActive = now
                return
            }
        }
        var entry = EdgeEntry(lastActive: now, confirmed: confirmed)
        entry.health.apply(event, micros: micros)
        guard insert(entry, for: key, now: now) else { return }
        if !confirmed { unconfirmed[peer, default: 0] += 1 }
    }

    /// One unconfirmed port edge of `peer` fewer.
    private func forget(_ peer: PeerDirection) {
        guard let count = unconfirmed[peer] else { return }
        unconfirmed[peer] = count > 1 ? count - 1 : nil
    }

    /// Removes the edges idle for longer than `edgeIdleTimeout`, counted in `agedOut`.
    private func ageOut() {
        lastSweep = now
        guard now > Self.edgeIdleTimeout else { return }
        let cutoff = now - Self.edgeIdleTimeout
        let idle = edges.filter { $0.value.lastActive < cutoff }
        for (key, entry) in idle {
            edges[key] = nil
            if !entry.confirmed { forget(PeerDirection(peer: key.peer, upstream: key.upstream)) }
        }
        agedOut &+= UInt64(idle.count)
    }

    /// Takes a new socket-table reading, and counts the events held for it under the
    /// process it names ("" when it names none: the connection is already gone).
    public func update(endpoints: EndpointOwners?) {
        self.endpoints = endpoints
        let count = heldCount
        heldCount = 0
        for i in 0..<count {
            let event = held[i]
            let process = endpoints?.process(ipProtocol: 6, localAddress: event.slot.local, localPort: event.slot.localPort)
            self.count(event.event, event.slot, process: process ?? ProcessIdentity(name: ""), micros: event.micros)
        }
        settleConnections(force: true)
    }

    /// Adds what one connection's two sides sent since last time to its edge, which it
    /// confirms (a connection carrying segments was established, before the agent if need be).
    func addConnectionCounts(local: SenderTally, remote: SenderTally, peer: IPAddress, port: UInt16, upstream: Bool,
                             process: ProcessIdentity) {
        let key = TCPEdgeKey(peer: peer, port: port, upstream: upstream, process: process.name, unit: process.unit)
        if let index = edges.index(forKey: key) {
            edges.values[index].health.local.add(local)
            edges.values[index].health.remote.add(remote)
            edges.values[index].lastActive = now
            if !edges.values[index].confirmed {
                edges.values[index].confirmed = true
                forget(PeerDirection(peer: peer, upstream: upstream))
            }
            return
        }
        var entry = EdgeEntry(lastActive: now, confirmed: true)
        entry.health.local.add(local)
        entry.health.remote.add(remote)
        insert(entry, for: key, now: now)
    }

    /// Adds a new edge; when the table is full, idle edges are aged out first (at most once
    /// a second), and if there is still no room the edge's events are counted as dropped.
    @discardableResult
    private func insert(_ entry: EdgeEntry, for key: TCPEdgeKey, now: UInt64) -> Bool {
        if edges.count >= maxEdges, now >= lastSweep &+ 1_000_000 { ageOut() }
        guard edges.count < maxEdges else {
            dropped &+= 1
            return false
        }
        edges[key] = entry
        return true
    }

    /// Handshakes in the table now (for tests and the page).
    public var handshakesInProgress: Int { inHandshake }

    /// A copy of the counters; times out overdue handshakes first.
    public func snapshot() -> TCPHealthSnapshot {
        if let clock { advanceClock(to: clock()) }
        expireHandshakes()
        settleConnections(force: false)
        ageOut()
        var snapshot = TCPHealthSnapshot()
        snapshot.keys.reserveCapacity(edges.count)
        snapshot.edges.reserveCapacity(edges.count)
        for (key, entry) in edges {
            snapshot.keys.append(key)
            snapshot.edges.append(entry.health)
        }
        snapshot.untrackedHandshakes = untracked
        snapshot.droppedEvents = dropped
        snapshot.agedOutEdges = agedOut
        snapshot.heldEvents = heldCount
        snapshot.maxEdges = maxEdges
        snapshot.evictedConnections = evictedConnections
        return snapshot
    }

    /// The histogram bucket of a time: the first whose bound it does not pass (handshake
    /// buckets unless told).
    static func bucket(_ micros: UInt64, bounds: [UInt64] = bucketBounds) -> Int {
        var index = 0
        while index < bounds.count && micros > bounds[index] { index += 1 }
        return index
    }
}
