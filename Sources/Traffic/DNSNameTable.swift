import NetAddress
import PacketDecoding

/// The names the host asked DNS for, by answered address: the first name of each
/// response's CNAME chain for every A and AAAA address in it. Bounded: past `capacity`
/// addresses, those whose answers have expired go first, then the others, least recently
/// answered first in each group (counted in `evicted`). TTLs are capped at `maxTTL`, so an
/// answer cannot pin its name for longer than a day by claiming a TTL of decades.
/// A name stays after its TTL until evicted or replaced by a newer answer, so a label
/// derived from it does not flap and split a counter into two series.
///
/// Names are interned: an answer for a name already held allocates nothing, and a name
/// no address uses any more is released. Not thread-safe: the aggregator owns one and
/// uses it under its lock.
public struct DNSNameTable {
    struct Entry {
        var name: UInt32
        /// Capture time of the answer plus its TTL (at most `maxTTL`), in seconds since the epoch.
        var expiry: Int64
        /// The order of the answer among all recorded: larger is more recent.
        var answered: UInt64
    }

    /// The longest TTL honoured, in seconds (one day).
    public static let maxTTL: UInt32 = 86_400

    /// Most addresses held.
    public let capacity: Int
    private(set) var entries: [IPAddress: Entry] = [:]
    /// Interned names by id; a released id holds "" until reused.
    private(set) var names: [String] = []
    private var uses: [Int] = []
    private var freeIDs: [UInt32] = []
    /// Ids of the names whose bytes hash to a value, to find a name without making a String.
    private var idsByHash: [Int: [UInt32]] = [:]
    /// Addresses evicted to make room, since start.
    public private(set) var evicted: UInt64 = 0
    /// Responses recorded, since start: the `answered` order of the latest.
    private var sequence: UInt64 = 0
    /// The latest capture time recorded: answers expiring before it have expired.
    private var latest = Int64.min

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Addresses held.
    public var count: Int { entries.count }

    /// Distinct names held.
    public var internedNames: Int { names.count - freeIDs.count }

    /// Records the addresses of one decoded response under its name.
    public mutating func record(_ answers: DNSAnswers) {
        guard capacity > 0, answers.count > 0, answers.nameLength > 0 else { return }
        let id = intern(answers)
        sequence &+= 1
        latest = max(latest, answers.capturedAt)
        // Held while recording, so that an eviction on the way cannot release it.
        uses[Int(id)] += 1
        for index in 0..<min(answers.count, DNSAnswers.capacity) {
            let expiry = answers.capturedAt &+ Int64(min(answers.ttls[index], Self.maxTTL))
            let address = answers.addresses[index]
            let entry = Entry(name: id, expiry: expiry, answered: sequence)
            if let old = entries[address] {
                entries[address] = entry
                uses[Int(id)] += 1
                release(old.name)
                continue
            }
            if entries.count >= capacity { evictLeastRecent() }
            entries[address] = entry
            uses[Int(id)] += 1
        }
        release(id)
    }

    /// The name answered for `address`, "" when none is held.
    public func name(for address: IPAddress) -> String {
        guard let entry = entries[address] else { return "" }
        return names[Int(entry.name)]
    }

    /// Evicts the sixteenth of the table (at least one address) that comes first in
    /// eviction order: expired answers before live ones, least recently answered first in
    /// each. A stream of new addresses into a full table costs one scan per sixteenth of
    /// its capacity, not one per address.
    private mutating func evictLeastRecent() {
        let batch = max(1, capacity / 16)
        let latest = self.latest
        // Answer orders stay far below 2^63, so the top bit puts live answers after expired ones.
        func rank(_ entry: Entry) -> UInt64 { entry.expiry <= latest ? entry.answered : entry.answered | 1 << 63 }
        var ranks = entries.values.map(rank)
        let threshold: UInt64
        if batch >= ranks.count {
            threshold = .max
        } else {
            ranks.sort()
            threshold = ranks[batch - 1]
        }
        var doomed: [IPAddress] = []
        doomed.reserveCapacity(batch)
        for (address, entry) in entries where rank(entry) <= threshold {
            doomed.append(address)
            if doomed.count == batch { break }
        }
        for address in doomed {
            if let entry = entries.removeValue(forKey: address) { release(entry.name) }
        }
        evicted &+= UInt64(doomed.count)
    }

    /// Adds the names a state file kept, least recently answered first, as if their answers
    /// had just been recorded in that order at `time` (seconds since the epoch) with their
    /// saved expiries; past `capacity` the usual eviction applies. Returns how many of the
    /// saved addresses the table holds afterwards.
    @discardableResult
    public mutating func restore(_ saved: [SavedDNSName], at time: Int64) -> Int {
        guard capacity > 0 else { return 0 }
        latest = max(latest, time)
        for item in saved where !item.name.isEmpty && item.name.utf8.count <= DNSAnswers.maxNameLength {
            let id = intern(hash: Self.hash(item.name.utf8), matching: { $0 == item.name }, making: { item.name })
            sequence &+= 1
            uses[Int(id)] += 1
            if let old = entries[item.address] {
                release(old.name)
            } else if entries.count >= capacity {
                evictLeastRecent()
            }
            entries[item.address] = Entry(name: id, expiry: item.expiry, answered: sequence)
        }
        return Set(saved.map(\.address)).count { entries[$0] != nil }
    }

    private static func hash(_ bytes: some Sequence<UInt8>) -> Int {
        var hasher = Hasher()
        for byte in bytes { hasher.combine(byte) }
        return hasher.finalize()
    }

    /// The id of the name of `answers`, interning it when new.
    private mutating func intern(_ answers: DNSAnswers) -> UInt32 {
        var hasher = Hasher()
        for index in 0..<answers.nameLength { hasher.combine(answers.name[index]) }
        return intern(hash: hasher.finalize(), matching: { Self.equal($0, answers) }, making: { answers.nameText })
    }

    /// The id of the name whose bytes hash to `hash` and that `matching` accepts; a new id
    /// for the name `making` returns when none is held.
    private mutating func intern(hash: Int, matching: (String) -> Bool, making: () -> String) -> UInt32 {
        if let candidates = idsByHash[hash] {
            for id in candidates where matching(names[Int(id)]) { return id }
        }
        let name = making()
        let id: UInt32
        if let reused = freeIDs.popLast() {
            id = reused
            names[Int(id)] = name
        } else {
            id = UInt32(names.count)
            names.append(name)
            uses.append(0)
        }
        idsByHash[hash, default: []].append(id)
        return id
    }

    private static func equal(_ name: String, _ answers: DNSAnswers) -> Bool {
        guard name.utf8.count == answers.nameLength else { return false }
        for (index, byte) in name.utf8.enumerated() where byte != answers.name[index] { return false }
        return true
    }

    /// Drops one use of `id`; the name is released when no address uses it.
    private mutating func release(_ id: UInt32) {
        uses[Int(id)] -= 1
        guard uses[Int(id)] == 0 else { return }
        let hash = Self.hash(names[Int(id)].utf8)
        idsByHash[hash]?.removeAll { $0 == id }
        if idsByHash[hash]?.isEmpty == true { idsByHash[hash] = nil }
        names[Int(id)] = ""
        freeIDs.append(id)
    }

    /// A copy for rendering: copy-on-write, so taking it costs nothing under the lock.
    public var snapshot: DNSNameSnapshot { DNSNameSnapshot(entries: entries, names: names, evicted: evicted) }
}

/// One address's name as a state file keeps it.
public struct SavedDNSName: Sendable, Equatable {
    public var address: IPAddress
    /// The dotted name, as the decoder writes it (see `DNSAnswers.name`).
    public var name: String
    /// When its answer expires (or expired), seconds since the epoch.
    public var expiry: Int64

    public init(address: IPAddress, name: String, expiry: Int64) {
        self.address = address
        self.name = name
        self.expiry = expiry
    }
}

/// The DNS names held at one moment, as a scrape renders them.
public struct DNSNameSnapshot: Sendable {
    let entries: [IPAddress: DNSNameTable.Entry]
    let names: [String]
    /// Addresses evicted from the table since start.
    public let evicted: UInt64

    public init() {
        self.init(entries: [:], names: [], evicted: 0)
    }

    init(entries: [IPAddress: DNSNameTable.Entry], names: [String], evicted: UInt64) {
        self.entries = entries
        self.names = names
        self.evicted = evicted
    }

    /// Addresses with a name.
    public var count: Int { entries.count }

    /// The name answered for `address`, "" when none is held.
    public func name(for address: IPAddress) -> String {
        guard let entry = entries[address] else { return "" }
        return names[Int(entry.name)]
    }

    /// Every address held with its name and expiry, least recently answered first: what a
    /// state file keeps.
    public var savedNames: [SavedDNSName] {
        entries.sorted { $0.value.answered < $1.value.answered }.map { address, entry in
            SavedDNSName(address: address, name: names[Int(entry.name)], expiry: entry.expiry)
        }
    }
}

extension DNSNameTable.Entry: Sendable {}
