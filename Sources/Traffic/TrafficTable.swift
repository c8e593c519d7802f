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
/// Built for the packet path: a hit touches one index slot and one 56-byte entry
/// (key, counters, the tick it was last active and its rate mark, side by side), and
/// nothing else. The rate mark is only read and written by the history's sweep.
/// Storage is flat and grows by doubling up to the bound; the index is open addressing
/// with linear probing at load at most 1/2. Live entries occupy `0..<count`, so a
/// snapshot is a straight copy.
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
    @exclusivity(unchecked) @usableFromInline var index: UnsafeMutablePointer<Int32>  // slot -> entry, -1 empty
    @exclusivity(unchecked) @usableFromInline var indexMask = 0
    @exclusivity(unchecked) @usableFromInline var tick: UInt64 = 0
    /// Bumped whenever entries move (growth, eviction), so batched lookups know when
    /// the entry positions they gathered are stale.
    @exclusivity(unchecked) @usableFromInline var generation: UInt64 = 0
    // Selection space for eviction, kept between evictions so a flood allocates nothing.
    @exclusivity(unchecked) var scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
    @exclusivity(unchecked) var scratchCapacity = 1
    @usableFromInline let seed: UInt64

    /// A table holding at most `maxSeries` series (at least 1).
    public init(maxSeries: Int, initialCapacity: Int = 1024, seed: UInt64 = SeededHash.randomSeed()) {
        self.maxSeries = max(1, maxSeries)
        self.seed = seed
        let start = min(self.maxSeries, max(16, initialCapacity))
        entries = Self.allocate(Entry.self, capacity: start)
        capacity = start
        let slots = Self.indexSize(for: start)
        index = Self.allocate(Int32.self, capacity: slots)
        index.initialize(repeating: -1, count: slots)
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

    /// The hash `key` is found by; a batch (`add(batch:)`) takes it from its caller, which
    /// computes it once per packet for both the prefetch and the add.
    @inlinable
    public func hash(_ key: TrafficKey) -> UInt64 {
        key.hashValue(seed: seed)
    }

    /// The first slot of `key`'s probe sequence in the index.
    @inlinable
    func homeSlot(_ key: TrafficKey) -> Int {
        homeSlot(hash: hash(key))
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
        tick &+= 1
        var slot = homeSlot(key)
        while true {
            let entry = Int(index[slot])
            if entry < 0 { break }
            if entries[entry].key == key {
                entries[entry].counters.bytes &+= bytes
                entries[entry].counters.packets &+= 1
                entries[entry].lastActive = tick
                return
            }
            slot = (slot + 1) & indexMask
        }
        insert(key, bytes: bytes, emptySlot: slot)
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
    /// slot, entry). Gathering the first probe of every key of the batch in one loop,
    /// then finding each key's entry in another (following the probe sequence when the
    /// first slot holds another key), lets the CPU overlap those misses instead of paying
    /// for them one packet after the other; only keys not in the table are left for
    /// `add` one by one.
    @inlinable
    public func add(batch keys: UnsafePointer<TrafficKey>, hashes: UnsafePointer<UInt64>, bytes: UnsafePointer<UInt64>,
                    count n: Int) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { found in
            let start = generation
            for i in 0..<n {
                let entry = index[homeSlot(hash: hashes[i])]
                found[i] = entry
                if entry >= 0 {
                    // An entry can straddle two cache lines.
                    let address = UnsafeRawPointer(entries + Int(entry))
                    planet_prefetch_for_write(address)
                    planet_prefetch_for_write(address + (MemoryLayout<Entry>.size - 1))
                }
            }
            for i in 0..<n {
                var entry = Int(found[i])
                guard entry >= 0, entries[entry].key != keys[i] else { continue }
                var slot = homeSlot(hash: hashes[i])
                repeat {
                    slot = (slot + 1) & indexMask
                    entry = Int(index[slot])
                } while entry >= 0 && entries[entry].key != keys[i]
                found[i] = Int32(truncatingIfNeeded: entry)
            }
            for i in 0..<n {
                let entry = Int(found[i])
                if entry >= 0 && generation == start {
                    tick &+= 1
                    entries[entry].counters.bytes &+= bytes[i]
                    entries[entry].counters.packets &+= 1
                    entries[entry].lastActive = tick
                } else {
                    add(keys[i], bytes: bytes[i])
                }
            }
        }
    }

    /// Adds several packets at once to the series `key` (held traffic being settled).
    public func add(_ key: TrafficKey, counters added: TrafficCounters) {
        guard added.packets > 0 else { return }
        add(key, bytes: added.bytes)
        guard added.packets > 1, let slot = findSlot(key) else { return }
        entries[Int(index[slot])].counters.packets &+= added.packets - 1
    }

    func findSlot(_ key: TrafficKey) -> Int? {
        var slot = homeSlot(key)
        while index[slot] >= 0 {
            if entries[Int(index[slot])].key == key { return slot }
            slot = (slot + 1) & indexMask
        }
        return nil
    }

    /// The counters of `key`, if it is in the table (not on the hot path).
    public func counters(for key: TrafficKey) -> TrafficCounters? {
        var slot = homeSlot(key)
        while index[slot] >= 0 {
            let entry = Int(index[slot])
            if entries[entry].key == key { return entries[entry].counters }
            slot = (slot + 1) & indexMask
        }
        return nil
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
        Self.allocationSize(capacity * MemoryLayout<Entry>.stride) + Self.allocationSize((indexMask + 1) * MemoryLayout<Int32>.stride)
            + scratchCapacity * MemoryLayout<UInt64>.stride
    }

    static let hugePage = 2 << 20

    /// What `allocate` takes for `bytes`: whole huge pages from one huge page on.
    static func allocationSize(_ bytes: Int) -> Int {
        bytes >= hugePage ? (bytes + hugePage - 1) / hugePage * hugePage : max(1, bytes)
    }

    // MARK: - internals

    @usableFromInline
    func insert(_ key: TrafficKey, bytes: UInt64, emptySlot: Int) {
        var slot = emptySlot
        if count == maxSeries {
            evictLeastRecentlyActive()
            slot = probeEmptySlot(for: key)
        } else if count == capacity {
            grow()
            slot = probeEmptySlot(for: key)
        }
        entries[count] = Entry(key: key, counters: TrafficCounters(bytes: bytes, packets: 1), lastActive: tick, rateMark: .zero)
        index[slot] = Int32(count)
        count += 1
    }

    func probeEmptySlot(for key: TrafficKey) -> Int {
        var slot = homeSlot(key)
        while index[slot] >= 0 { slot = (slot + 1) & indexMask }
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
        generation &+= 1
        let slots = Self.indexSize(for: newCapacity)
        free(index)
        index = Self.allocate(Int32.self, capacity: slots)
        indexMask = slots - 1
        rebuildIndex()
    }

    func rebuildIndex() {
        index.update(repeating: -1, count: indexMask + 1)
        for entry in 0..<count {
            index[probeEmptySlot(for: entries[entry].key)] = Int32(entry)
        }
    }
}
