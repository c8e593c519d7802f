import NetAddress

/// What became of a DNS response checked against the outstanding queries.
public enum DNSQueryMatch: UInt8, Sendable, CaseIterable {
    /// A query with the same ID, addresses and ports left within `DNSQueryTable.window`.
    case matched
    /// No query with the same ID, addresses and ports is outstanding: never asked, already
    /// answered, or its slot was taken by a later query.
    case unsolicited
    /// The query was seen, but longer than `DNSQueryTable.window` before the response.
    case late

    /// The `reason` label value of `planet_dns_answers_refused_total`; empty for `matched`.
    public var reason: String {
        switch self {
        case .matched: ""
        case .unsolicited: "unsolicited"
        case .late: "late"
        }
    }
}

/// The DNS queries a capture source saw leave (or cross) the host and not yet answered, so
/// that only a response to one of them names addresses: an answer from anywhere else
/// (a forged one needs the query's ID and port, which an off-path sender does not see)
/// is refused. A response is matched by DNS ID, both addresses, the client's port and
/// the transport protocol; the server's port is 53 on both.
///
/// Fixed size and allocated once: `slotCount` slots in sets of `ways`, a set chosen by a
/// seeded hash of the key. A query whose set holds only live queries is not kept (counted
/// in `dropped`); a slot older than `window` is free. Beside the slots, 16 bits of each
/// held query's hash: a response reads its set's four of them, 8 bytes that stay in
/// cache, and a slot only when one matches, so a flood of answers nobody asked for costs
/// one read each, never the slots' cache misses. Used by one capture thread only.
public final class DNSQueryTable {
    struct Slot {
        var client = IPAddress(high: 0, low: 0)
        var server = IPAddress(high: 0, low: 0)
        /// Capture time of the query in microseconds; 0 for a free slot.
        var time: UInt64 = 0
        var clientPort: UInt16 = 0
        var id: UInt16 = 0
        var ipProtocol: UInt8 = 0
    }

    /// How long a query waits for its response: a stub resolver has given up by then
    /// (glibc asks again after 5 s, with the same ID, which renews the wait).
    public static let window: UInt64 = 5_000_000
    /// Slots per set.
    static let ways = 4

    /// Slots in the table.
    public let slotCount: Int
    private let slots: UnsafeMutablePointer<Slot>
    /// Per slot: 16 bits of its query's hash (never 0) while it holds one, 0 once it is
    /// free or answered.
    private let tags: UnsafeMutablePointer<UInt16>
    private let setMask: Int
    private let seed: UInt64
    /// Queries not kept because their set was full of live queries, since start.
    public private(set) var dropped: UInt64 = 0
    /// Queries kept, since start (a query seen again renews its slot and counts again).
    public private(set) var recorded: UInt64 = 0

    /// A table of at least `slotCount` slots (rounded up to a power of two, at least one set).
    public init(slotCount: Int = 2048, seed: UInt64 = SeededHash.randomSeed()) {
        var count = Self.ways
        while count < slotCount { count <<= 1 }
        self.slotCount = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: Slot(), count: count)
        tags = .allocate(capacity: count)
        tags.initialize(repeating: 0, count: count)
        setMask = count / Self.ways - 1
        self.seed = seed
    }

    deinit {
        slots.deallocate()
        tags.deallocate()
    }

    /// The first slot of the key's set, and its tag: hash bits the set index does not use.
    private func set(_ client: IPAddress, _ server: IPAddress, _ clientPort: UInt16, _ id: UInt16,
                     _ ipProtocol: UInt8) -> (first: Int, tag: UInt16) {
        let tail = UInt64(clientPort) << 32 | UInt64(id) << 16 | UInt64(ipProtocol)
        let hash = SeededHash.mix(seed: seed, client.low ^ (client.high >> 1), server.low ^ (server.high >> 1), tail)
        return ((Int(truncatingIfNeeded: hash) & setMask) &* Self.ways, UInt16(truncatingIfNeeded: hash >> 48) | 1)
    }

    @inline(__always)
    private static func holds(_ slot: Slot, _ client: IPAddress, _ server: IPAddress, _ clientPort: UInt16, _ id: UInt16,
                              _ ipProtocol: UInt8) -> Bool {
        slot.time != 0 && slot.id == id && slot.clientPort == clientPort && slot.ipProtocol == ipProtocol
            && slot.client == client && slot.server == server
    }

    /// Remembers the query with DNS `id` that `summary` (to port 53) carries.
    public func record(query summary: PacketSummary, id: UInt16) {
        let client = summary.source, server = summary.destination
        let (first, tag) = set(client, server, summary.sourcePort, id, summary.ipProtocol)
        // A time of 0 marks a free slot: a capture dated 1970 counts from 1 µs.
        let now = max(summary.timestamp, 1)
        var free = -1
        for index in first..<(first &+ Self.ways) {
            if tags[index] == tag, Self.holds(slots[index], client, server, summary.sourcePort, id, summary.ipProtocol) {
                free = index
                break
            }
            if free < 0, tags[index] == 0 || now > slots[index].time &+ Self.window { free = index }
        }
        guard free >= 0 else {
            dropped &+= 1
            return
        }
        slots[free] = Slot(client: client, server: server, time: now, clientPort: summary.sourcePort, id: id,
                           ipProtocol: summary.ipProtocol)
        tags[free] = tag
        recorded &+= 1
    }

    /// Checks a response from port 53 with DNS `id` against the outstanding queries; a
    /// matching query is answered and leaves the table. `client` and `clientPort` are where
    /// the response goes, `server` where it comes from, `time` its capture time in
    /// microseconds.
    public func match(client: IPAddress, server: IPAddress, clientPort: UInt16, id: UInt16, ipProtocol: UInt8,
                      at time: UInt64) -> DNSQueryMatch {
        let (first, tag) = set(client, server, clientPort, id, ipProtocol)
        for index in first..<(first &+ Self.ways) where tags[index] == tag
            && Self.holds(slots[index], client, server, clientPort, id, ipProtocol) {
            let asked = slots[index].time
            slots[index].time = 0
            tags[index] = 0
            // A response dated before its query (files merged out of order) is not late.
            return time > asked &+ Self.window ? .late : .matched
        }
        return .unsolicited
    }
}
