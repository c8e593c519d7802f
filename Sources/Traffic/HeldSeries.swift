import CPrefetch
import NetAddress

/// Traffic series held until the next socket-table reading names their local process: a
/// series key with the local endpoint it was seen on, at most `capacity` of them.
///
/// Built for the packet path, where a flood to an endpoint no socket owns comes here with
/// every packet: storage allocated once, open addressing with linear probing at load at
/// most 1/2 under the project's seeded mixer, entries kept in arrival order so settling
/// walks them in one pass. Each index slot carries 32 bits of its entry's hash, so a
/// packet of a series not held reads the index alone and never the entries; and a bitmap
/// of 65,536 bits (8 KiB) marks the series held, two bits of one word each, so once the
/// set is full a packet of a series not held (most of a flood) is told so by one word
/// (`mayHold`) in about 49 cases in 50, without queueing for the index. The word and bits
/// come from its key's hash in the series table, which the packet has already, and one
/// multiplication of its local endpoint, not from this set's own hash.
/// Not thread-safe: the accounting owns it, under the aggregator's lock.
final class HeldSeries {
    /// One held series.
    struct Entry {
        var key: TrafficKey
        var address: IPAddress
        var port: UInt16
        var counters: TrafficCounters
    }

    /// Most series held.
    let capacity: Int
    /// Series held now.
    private(set) var count = 0
    private let entries: UnsafeMutablePointer<Entry>
    /// Per slot: the entry's position + 1 in the low 32 bits (0: empty), its hash's high
    /// 32 bits in the high ones.
    private let index: UnsafeMutablePointer<UInt64>
    private let mask: Int
    private let seed: UInt64
    /// Two bits of one word per series held; see `filterPosition`.
    private let filter: UnsafeMutablePointer<UInt64>
    private static let filterWords = 1024

    /// An empty set of at most `capacity` series (at least 1).
    init(capacity: Int, seed: UInt64 = SeededHash.randomSeed()) {
        self.capacity = max(1, capacity)
        self.seed = seed
        var slots = 16
        while slots < self.capacity * 2 { slots <<= 1 }
        mask = slots - 1
        entries = .allocate(capacity: self.capacity)
        index = .allocate(capacity: slots)
        index.initialize(repeating: 0, count: slots)
        filter = .allocate(capacity: Self.filterWords)
        filter.initialize(repeating: 0, count: Self.filterWords)
    }

    deinit {
        entries.deallocate()
        index.deallocate()
        filter.deallocate()
    }

    /// True when no new series can be held until the set is emptied.
    var isFull: Bool { count == capacity }

    /// False only when no series of a key whose series-table hash is `keyHash` is held for
    /// the local endpoint (`address`, `port`) (true may be wrong: about one series in 50 not
    /// held when 4,096 are).
    @inline(__always)
    func mayHold(keyHash: UInt64, address: IPAddress, port: UInt16) -> Bool {
        let (word, bits) = Self.filterPosition(keyHash: keyHash, address: address, port: port)
        return filter[word] & bits == bits
    }

    /// The filter word and its two bits of a series: bits 16-25 of the key's hash, mixed
    /// with the local endpoint, pick the word, bits 26-31 and 32-37 the bits. The key's hash
    /// is seeded, so the endpoint's part needs no more than spreading: one multiplication,
    /// of which the top bits are taken, as only they depend on every bit of the factor. The
    /// port goes where an IPv4 address keeps its constant prefix (bits 32-47), not on top,
    /// where it would reach the top bits alone. Two bits in one word let through a third as
    /// many series not held as one bit would, for the same load.
    @inline(__always)
    private static func filterPosition(keyHash: UInt64, address: IPAddress, port: UInt16) -> (word: Int, bits: UInt64) {
        let endpoint = (address.low ^ address.high ^ UInt64(port) << 32) &* 0x9E37_79B9_7F4A_7C15
        let position = keyHash ^ endpoint >> 26
        let word = Int(truncatingIfNeeded: position >> 16) & (filterWords - 1)
        return (word, 1 << (position >> 26 & 63) | 1 << (position >> 32 & 63))
    }

    /// The hash the series `key` held for the local endpoint (`address`, `port`) is found by,
    /// from `keyHash`, the key's own seeded hash (the series table's): one mix more under
    /// this set's seed, rather than hashing the key again.
    @inline(__always)
    func hash(keyHash: UInt64, address: IPAddress, port: UInt16) -> UInt64 {
        SeededHash.mix(seed: seed, keyHash, address.low, address.high ^ UInt64(port) << 48)
    }

    /// Starts loading the index slot a series with `hash` is looked up from, for an `add`
    /// a batch later (see `TrafficAccounting.enqueue`).
    @inline(__always)
    func prefetchSlot(hash: UInt64) {
        planet_prefetch_for_write(index + (Int(truncatingIfNeeded: hash) & mask))
    }

    /// Starts loading the entry the slot of `hash` names when it carries the hash's tag:
    /// with the slot loaded already, the entry's miss then overlaps with other packets'.
    @inline(__always)
    func prefetchEntry(hash: UInt64) {
        let held = index[Int(truncatingIfNeeded: hash) & mask]
        guard held != 0, held & 0xFFFF_FFFF_0000_0000 == hash & 0xFFFF_FFFF_0000_0000 else { return }
        planet_prefetch_for_write(entries + (Int(truncatingIfNeeded: held & 0xFFFF_FFFF) &- 1))
    }

    /// Adds one packet of `bytes` to the series `key` held for the local endpoint
    /// (`address`, `port`), whose `hash(keyHash:address:port:)` is `hash` and whose key's
    /// series-table hash is `keyHash`, holding it anew when there is room; false, and
    /// nothing held, when it is new and `capacity` series are held already.
    @inline(__always)
    func add(_ key: TrafficKey, address: IPAddress, port: UInt16, bytes: UInt64, keyHash: UInt64, hash: UInt64) -> Bool {
        let tag = hash & 0xFFFF_FFFF_0000_0000
        var slot = Int(truncatingIfNeeded: hash) & mask
        // At load at most 1/2 an empty slot ends the probe well before it wraps.
        for _ in 0...mask {
            let held = index[slot]
            if held == 0 { break }
            if held & 0xFFFF_FFFF_0000_0000 == tag {
                let entry = entries + (Int(truncatingIfNeeded: held & 0xFFFF_FFFF) &- 1)
                if entry.pointee.port == port && entry.pointee.key == key && entry.pointee.address == address {
                    entry.pointee.counters.bytes &+= bytes
                    entry.pointee.counters.packets &+= 1
                    return true
                }
            }
            slot = (slot &+ 1) & mask
        }
        guard count < capacity else { return false }
        (entries + count).initialize(to: Entry(key: key, address: address, port: port,
                                              counters: TrafficCounters(bytes: bytes, packets: 1)))
        count += 1
        index[slot] = tag | UInt64(count)
        let (word, bits) = Self.filterPosition(keyHash: keyHash, address: address, port: port)
        filter[word] |= bits
        return true
    }

    /// Bytes held in all series.
    var bytes: UInt64 {
        var total: UInt64 = 0
        for at in 0..<count { total &+= entries[at].counters.bytes }
        return total
    }

    /// Calls `body` with each held series, in the order they were first held.
    func forEach(_ body: (Entry) throws -> Void) rethrows {
        for at in 0..<count { try body(entries[at]) }
    }

    /// Holds nothing any more.
    func removeAll() {
        guard count > 0 else { return }
        index.update(repeating: 0, count: mask + 1)
        filter.update(repeating: 0, count: Self.filterWords)
        entries.deinitialize(count: count)
        count = 0
    }
}
