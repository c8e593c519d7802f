import CPrefetch
import NetAddress
#if canImport(Glibc)
import Glibc
#endif

/// Byte and packet counters of one traffic series.
@frozen
public struct TrafficCounters: Sendable, BitwiseCopyable, Equatable {
    public var bytes: UInt64
    public var packets: UInt64

    @inlinable
    public init(bytes: UInt64 = 0, packets: UInt64 = 0) {
        self.bytes = bytes
        self.packets = packets
    }
}

/// A bounded map from TrafficKey to counters that evicts the least recently active
/// series when full.
///
/// Built for the packet path: a hit touches one index slot and one entry, a cache line
/// (key, counters, the tick it was last active and its rate mark, side by side), and
/// nothing else. The rate mark is only read and written by the history's sweep.
/// Storage is flat and grows by doubling up to the bound; the index is open addressing
/// with linear probing at load at most 1/2. Live entries occupy `0..<count`, so a
/// snapshot is a straight copy.
///
/// An index slot is 4 bytes: the entry's position in its low bits and, in the bits the
/// position does not need, a tag from the top of its key's hash. A probe passes over the
/// slots of other keys by their tags, without loading their entries: at load 1/2 about a
/// third of the keys do not sit in their first slot, and in a table larger than the CPU
/// caches each entry loaded on the way would be a cache miss.
///
/// When a new series arrives at the bound, a sixteenth of the table (at least one series)
/// is evicted in one pass: a selection over the eviction ranks, a compaction of the
/// entries and a rebuild of the index. That is O(n) once per n/16 new series, and no
/// per-packet bookkeeping.
///
/// Series that have seen one packet only are on probation: they are evicted before any
/// series that has seen a second, least recently active first within each group. A flood
/// of one-packet sources (random spoofed addresses, a scan) then only replaces its own
/// series, and a peer that keeps talking keeps its series exact however long the flood.
///
/// Not thread-safe; the aggregator owns it and guards it with its lock.
public final class TrafficTable {
    @frozen @usableFromInline
    struct Entry {
        @usableFromInline var key: TrafficKey
        @usableFromInline var counters: TrafficCounters
        @usableFromInline var lastActive: UInt64
        @usableFromInline var rateMark: RateMark
        /// Fills the entry to 64 bytes: in storage aligned to a cache line each entry is then
        /// one line, where a 56-byte entry straddles two lines three times in four, and a
        /// lookup in a table larger than the caches loads (and, on two interfaces, takes
        /// from the other core) one line instead of two.
        @usableFromInline var unused: UInt64 = 0
    }

    /// Most series the table holds; inserting past it evicts the least recently active.
    public let maxSeries: Int

    // The table is only touched under the aggregator's lock, so the per-access dynamic
    // exclusivity checks on these class properties would be pure cost on the packet path.

    /// Series evicted so far.
    @exclusivity(unchecked) public private(set) var evictedSeries: UInt64 = 0
    /// Bytes the evicted series had counted, so every byte stays accounted for.
    @exclusivity(unchecked) public private(set) var evictedBytes: UInt64 = 0
    /// Live series.
    @exclusivity(unchecked) public private(set) var count = 0

    @exclusivity(unchecked) @usableFromInline var capacity = 0
    @exclusivity(unchecked) @usableFromInline var entries: UnsafeMutablePointer<Entry>
    /// Slot -> entry position | tag (see `slotValue`), `emptySlot` when empty.
    @exclusivity(unchecked) @usableFromInline var index: UnsafeMutablePointer<UInt32>
    @exclusivity(unchecked) @usableFromInline var indexMask = 0
    /// The bits of a slot that hold the entry's position; the others hold the tag.
    @exclusivity(unchecked) @usableFromInline var positionMask: UInt32 = 0
    /// The tag bits a slot may use: all but the position's, unless narrowed (tests).
    @usableFromInline let tagBits: UInt32
    @exclusivity(unchecked) @usableFromInline var tick: UInt64 = 0
    /// Bumped whenever entries move (growth, eviction), so batched lookups know when
    /// the entry positions they gathered are stale.
    @exclusivity(unchecked) @usableFromInline var generation: UInt64 = 0
    // Selection space for eviction, kept between evictions so a flood allocates nothing.
    @exclusivity(unchecked) var scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    @exclusivity(unchecked) var scratchCapacity = 1
    @usableFromInline let seed: UInt64

    /// A table holding at most `maxSeries` series (at least 1, below 2^31). `tagBits`
    /// narrows the index's tags to that many bits, so that tests can make keys share them.
    public init(maxSeries: Int, initialCapacity: Int = 1024, seed: UInt64 = SeededHash.randomSeed(), tagBits: Int = 32) {
        self.maxSeries = min(max(1, maxSeries), Int(Int32.max))
        self.seed = seed
        self.tagBits = tagBits >= 32 ? .max : UInt32(truncatingIfNeeded: (1 << max(0, tagBits)) - 1) << (32 - max(0, tagBits))
        let start = min(self.maxSeries, max(16, initialCapacity))
        entries = Self.allocate(Entry.self, capacity: start)
        capacity = start
        positionMask = Self.positionMask(for: start)
        let slots = Self.indexSize(for: start)
        index = Self.allocate(UInt32.self, capacity: slots)
        index.initialize(repeating: Self.emptySlot, count: slots)
        indexMask = slots - 1
    }

    deinit {
        free(entries)
        free(index)
        scratch.deallocate()
    }

    /// Storage for entries or index slots. A lookup touches a random place in each, so
    /// arrays of 2 MiB and more are put on transparent huge pages where the kernel allows
    /// it (`madvise` mode): one TLB entry then covers what takes 512 otherwise, and a
    /// flood of peers spends its time on the cache misses it cannot avoid, not on page
    /// walks. Freed with `free`.
    static func allocate<T>(_: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let bytes = allocationSize(capacity * MemoryLayout<T>.stride)
        let huge = bytes >= hugePage
        var raw: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&raw, huge ? hugePage : 64, bytes) == 0, let raw else {
            fatalError("traffic table: cannot allocate \(bytes) bytes")
        }
        if huge { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
        return raw.bindMemory(to: T.self, capacity: capacity)
    }

    static func indexSize(for entries: Int) -> Int {
        var size = 16
        while size < entries * 2 { size <<= 1 }
        return size
    }

    /// An index slot that holds no entry. No entry's slot is all ones: its position is
    /// below `capacity`, which is below `positionMask`.
    @usableFromInline static let emptySlot = UInt32.max

    /// The slot bits that hold positions below `capacity`: as many as `capacity` needs.
    static func positionMask(for capacity: Int) -> UInt32 {
        let bits = Int.bitWidth - capacity.leadingZeroBitCount
        return bits >= 32 ? .max : UInt32(truncatingIfNeeded: (1 << bits) - 1)
    }

    /// The tag of a key with `hash`: its top bits, in the slot bits positions leave free.
    @inlinable
    func tag(hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash >> 32) & ~positionMask & tagBits
    }

    /// The slot value of the entry at `position` whose key has `hash`.
    @inlinable
    func slotValue(position: Int, hash: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: position) | tag(hash: hash)
    }

    /// The slot holding `key` (whose hash is `hash`) and its entry's position, or the empty
    /// slot its probe sequence ends at and nil.
    @inlinable
    func probe(_ key: TrafficKey, hash: UInt64) -> (slot: Int, position: Int?) {
        let tag = self.tag(hash: hash)
        var slot = homeSlot(hash: hash)
        while true {
            let value = index[slot]
            if value == Self.emptySlot { return (slot, nil) }
            if value & ~positionMask == tag {
                let position = Int(value & positionMask)
                if entries[position].key == key { return (slot, position) }
            }
            slot = (slot + 1) & indexMask
        }
    }

    /// The hash `key` is found by; a batch (`add(batch:)`) takes it from its caller, which
    /// computes it once per packet for both the prefetch and the add.
    @inlinable
    public func hash(_ key: TrafficKey) -> UInt64 {
        key.hashValue(seed: seed)
    }

    /// The first slot of the probe sequence of a key with `hash`.
    @inlinable
    func homeSlot(hash: UInt64) -> Int {
        Int(truncatingIfNeeded: hash) & indexMask
    }

    /// Adds `bytes` (one packet) to the series `key`, creating it (and evicting the least
    /// recently active series if the table is full) when it is new.
    @inlinable
    public func add(_ key: TrafficKey, bytes: UInt64) {
        add(key, hash: hash(key), bytes: bytes)
    }

    /// `add(_:bytes:)` for a key whose hash the caller has.
    @inlinable
    func add(_ key: TrafficKey, hash: UInt64, bytes: UInt64) {
        tick &+= 1
        let (slot, position) = probe(key, hash: hash)
        guard let position else {
            insert(key, hash: hash, bytes: bytes, emptySlot: slot)
            return
        }
        entries[position].counters.bytes &+= bytes
        entries[position].counters.packets &+= 1
        entries[position].lastActive = tick
    }

    /// Starts loading the index slot a key with `hash` would be found at, for a batch `add`
    /// soon after (see `TrafficAccounting.enqueue`): the loads of a batch's keys then
    /// overlap with the work on the packets in between instead of being waited for in
    /// `add(batch:)`.
    @inlinable
    public func prefetch(hash: UInt64) {
        planet_prefetch_for_write(index + homeSlot(hash: hash))
    }

    /// Adds one packet each to `keys[i]` with `bytes[i]`, in order, with the same result
    /// as calling `add` for each; `hashes[i]` is `hash(keys[i])`.
    ///
    /// The table is larger than the CPU caches, so a lookup is two cache misses (index
    /// slot, entry). Finding the slot with each key's tag in one loop (the index slots were
    /// prefetched when the packets were queued) and loading its entry ahead, then checking
    /// the keys in another, lets the CPU overlap those misses instead of paying for them
    /// one packet after the other; only keys not in the table are left for `add` one by one.
    @inlinable
    public func add(batch keys: UnsafePointer<TrafficKey>, hashes: UnsafePointer<UInt64>, bytes: UnsafePointer<UInt64>,
                    count n: Int) {
        // Per key: the position of the entry with its tag (the first on its probe sequence,
        // then the one holding the key), -1 when there is none.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { found in
            let start = generation
            for i in 0..<n {
                let tag = self.tag(hash: hashes[i])
                var slot = homeSlot(hash: hashes[i])
                var value = index[slot]
                while value != Self.emptySlot && value & ~positionMask != tag {
                    slot = (slot + 1) & indexMask
                    value = index[slot]
                }
                guard value != Self.emptySlot else {
                    found[i] = -1
                    continue
                }
                let position = Int(value & positionMask)
                found[i] = Int32(truncatingIfNeeded: position)
                // One line: entries are line-sized and the storage is line-aligned.
                planet_prefetch_for_write(UnsafeRawPointer(entries + position))
            }
            for i in 0..<n {
                let position = Int(found[i])
                // Another key with the same tag: rare, so the whole probe again.
                guard position >= 0, entries[position].key != keys[i] else { continue }
                found[i] = probe(keys[i], hash: hashes[i]).position.map { Int32(truncatingIfNeeded: $0) } ?? -1
            }
            for i in 0..<n {
                let position = Int(found[i])
                if position >= 0 && generation == start {
                    tick &+= 1
                    entries[position].counters.bytes &+= bytes[i]
                    entries[position].counters.packets &+= 1
                    entries[position].lastActive = tick
                } else {
                    add(keys[i], hash: hashes[i], bytes: bytes[i])
                }
            }
        }
    }

    /// Adds several packets at once to the series `key` (held traffic being settled).
    public func add(_ key: TrafficKey, counters added: TrafficCounters) {
        guard added.packets > 0 else { return }
        add(key, bytes: added.bytes)
        guard added.packets > 1, let position = probe(key, hash: hash(key)).position else { return }
        entries[position].counters.packets &+= added.packets - 1
    }

    /// The counters of `key`, if it is in the table (not on the hot path).
    public func counters(for key: TrafficKey) -> TrafficCounters? {
        probe(key, hash: hash(key)).position.map { entries[$0].counters }
    }

    /// Copies every live series, in storage order.
    public func snapshot() -> [(key: TrafficKey, counters: TrafficCounters)] {
        (0..<count).map { (entries[$0].key, entries[$0].counters) }
    }

    /// Copies every live series in storage order into the given arrays, replacing their
    /// contents, in one pass.
    public func copy(keys outKeys: inout [TrafficKey], counters outCounters: inout [TrafficCounters]) {
        outKeys.removeAll(keepingCapacity: true)
        outCounters.removeAll(keepingCapacity: true)
        outKeys.reserveCapacity(count)
        outCounters.reserveCapacity(count)
        for entry in UnsafeBufferPointer(start: entries, count: count) {
            outKeys.append(entry.key)
            outCounters.append(entry.counters)
        }
    }

    /// Calls `body` with the key of every live series (not on the hot path).
    func forEachKey(_ body: (TrafficKey) -> Void) {
        for entry in UnsafeBufferPointer(start: entries, count: count) { body(entry.key) }
    }

    /// Bytes of memory the table holds now.
    public var memoryFootprint: Int {
        Self.allocationSize(capacity * MemoryLayout<Entry>.stride) + Self.allocationSize((indexMask + 1) * MemoryLayout<UInt32>.stride)
            + scratchCapacity * MemoryLayout<UInt64>.stride
    }

    static let hugePage = 2 << 20

    /// What `allocate` takes for `bytes`: whole huge pages from one huge page on.
    static func allocationSize(_ bytes: Int) -> Int {
        bytes >= hugePage ? (bytes + hugePage - 1) / hugePage * hugePage : max(1, bytes)
    }

    // MARK: - internals

    @usableFromInline
    func insert(_ key: TrafficKey, hash: UInt64, bytes: UInt64, emptySlot: Int) {
        var slot = emptySlot
        if count == maxSeries {
            evictLeastRecentlyActive()
            slot = probeEmptySlot(hash: hash)
        } else if count == capacity {
            grow()
            slot = probeEmptySlot(hash: hash)
        }
        entries[count] = Entry(key: key, counters: TrafficCounters(bytes: bytes, packets: 1), lastActive: tick, rateMark: .zero)
        index[slot] = slotValue(position: count, hash: hash)
        count += 1
    }

    /// The first empty slot of the probe sequence of a key with `hash`.
    func probeEmptySlot(hash: UInt64) -> Int {
        var slot = homeSlot(hash: hash)
        while index[slot] != Self.emptySlot { slot = (slot + 1) & indexMask }
        return slot
    }

    /// Where an entry stands in eviction order, lowest first: one-packet series before the
    /// others, least recently active first in each (ticks stay far below 2^63).
    @inline(__always)
    static func evictionRank(_ entry: Entry) -> UInt64 {
        entry.counters.packets > 1 ? entry.lastActive | 1 << 63 : entry.lastActive
    }

    /// Evicts the sixteenth (at least one series) first in eviction order: series on
    /// probation, then the least recently active.
    func evictLeastRecentlyActive() {
        let victims = max(1, count / 16)
        if scratchCapacity < count {
            scratch.deallocate()
            scratch = .allocate(capacity: capacity)
            scratchCapacity = capacity
        }
        let ticks = UnsafeMutableBufferPointer(start: scratch, count: count)
        var older = 0
        for position in 0..<count { ticks[position] = Self.evictionRank(entries[position]) }
        let threshold = Self.select(ticks, rank: victims - 1)
        for position in 0..<count where Self.evictionRank(entries[position]) < threshold { older += 1 }
        // Everything ranked below the threshold goes; ties at it go until `victims` are out.
        var tiesToEvict = victims - older
        var kept = 0
        for position in 0..<count {
            let entry = entries[position]
            let rank = Self.evictionRank(entry)
            let evict = rank < threshold || (rank == threshold && tiesToEvict > 0)
            if evict {
                if rank == threshold { tiesToEvict -= 1 }
                evictedBytes &+= entry.counters.bytes
                continue
            }
            entries[kept] = entry
            kept += 1
        }
        evictedSeries &+= UInt64(count - kept)
        count = kept
        generation &+= 1
        rebuildIndex()
    }

    /// The value of rank `rank` (0 = smallest) in `values`, by quickselect; reorders them.
    static func select(_ values: UnsafeMutableBufferPointer<UInt64>, rank: Int) -> UInt64 {
        var low = 0, high = values.count - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if rank <= j { high = j } else if rank >= i { low = i } else { return values[rank] }
        }
        return values[rank]
    }

    func grow() {
        let newCapacity = min(maxSeries, capacity * 2)
        let fresh = Self.allocate(Entry.self, capacity: newCapacity)
        fresh.moveInitialize(from: entries, count: count)
        free(entries)
        entries = fresh
        capacity = newCapacity
        positionMask = Self.positionMask(for: newCapacity)
        generation &+= 1
        let slots = Self.indexSize(for: newCapacity)
        free(index)
        index = Self.allocate(UInt32.self, capacity: slots)
        indexMask = slots - 1
        rebuildIndex()
    }

    func rebuildIndex() {
        index.update(repeating: Self.emptySlot, count: indexMask + 1)
        for position in 0..<count {
            let hash = hash(entries[position].key)
            index[probeEmptySlot(hash: hash)] = slotValue(position: position, hash: hash)
        }
    }
}
