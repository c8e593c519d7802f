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
/// Storage is flat and grows by doubling up to the bound, so the per-packet path
/// allocates nothing once warm: an open-addressing index (linear probing, backward-shift
/// deletion, load at most 1/2) points into dense entry arrays, and an intrusive doubly
/// linked list over entry indices keeps recency order (head = most recent). Live entries
/// always occupy indices `0..<count`, which makes snapshots a straight copy.
///
/// Not thread-safe; the aggregator owns it and guards it with its lock.
public final class TrafficTable {
    /// Most series the table holds; inserting past it evicts the least recently active.
    public let maxSeries: Int
    /// Series evicted so far.
    public private(set) var evictedSeries: UInt64 = 0
    /// Live series.
    public private(set) var count = 0

    @usableFromInline var capacity = 0          // entry slots allocated
    @usableFromInline var keys: UnsafeMutablePointer<TrafficKey>
    @usableFromInline var counters: UnsafeMutablePointer<TrafficCounters>
    @usableFromInline var newer: UnsafeMutablePointer<Int32>  // towards head
    @usableFromInline var older: UnsafeMutablePointer<Int32>  // towards tail
    @usableFromInline var index: UnsafeMutablePointer<Int32>  // slot -> entry, -1 empty
    @usableFromInline var indexMask = 0
    @usableFromInline var head: Int32 = -1
    @usableFromInline var tail: Int32 = -1
    @usableFromInline let seed: UInt64

    /// A table holding at most `maxSeries` series (at least 1).
    public init(maxSeries: Int, initialCapacity: Int = 1024, seed: UInt64 = UInt64.random(in: .min ... .max)) {
        self.maxSeries = max(1, maxSeries)
        self.seed = seed
        let start = min(self.maxSeries, max(16, initialCapacity))
        keys = .allocate(capacity: start)
        counters = .allocate(capacity: start)
        newer = .allocate(capacity: start)
        older = .allocate(capacity: start)
        capacity = start
        let slots = Self.indexSize(for: start)
        index = .allocate(capacity: slots)
        index.initialize(repeating: -1, count: slots)
        indexMask = slots - 1
    }

    deinit {
        keys.deallocate()
        counters.deallocate()
        newer.deallocate()
        older.deallocate()
        index.deallocate()
    }

    static func indexSize(for entries: Int) -> Int {
        var size = 16
        while size < entries * 2 { size <<= 1 }
        return size
    }

    /// Adds `bytes` (one packet) to the series `key`, creating it (and evicting the least
    /// recently active series if the table is full) when it is new.
    @inlinable
    public func add(_ key: TrafficKey, bytes: UInt64) {
        var slot = Int(truncatingIfNeeded: key.hashValue(seed: seed)) & indexMask
        while true {
            let entry = index[slot]
            if entry < 0 { break }
            if keys[Int(entry)] == key {
                counters[Int(entry)].bytes &+= bytes
                counters[Int(entry)].packets &+= 1
                if entry != head { moveToHead(entry) }
                return
            }
            slot = (slot + 1) & indexMask
        }
        insert(key, bytes: bytes, emptySlot: slot)
    }

    /// The counters of `key`, if it is in the table (not on the hot path).
    public func counters(for key: TrafficKey) -> TrafficCounters? {
        guard let slot = findSlot(key) else { return nil }
        return counters[Int(index[slot])]
    }

    /// Copies every live series, most recently active first.
    public func snapshot() -> [(key: TrafficKey, counters: TrafficCounters)] {
        var out: [(key: TrafficKey, counters: TrafficCounters)] = []
        out.reserveCapacity(count)
        var entry = head
        while entry >= 0 {
            out.append((keys[Int(entry)], counters[Int(entry)]))
            entry = older[Int(entry)]
        }
        return out
    }

    /// Copies every live series in storage order into the given arrays (cheap: two
    /// memcpy-like copies), replacing their contents.
    public func copy(keys outKeys: inout [TrafficKey], counters outCounters: inout [TrafficCounters]) {
        outKeys.removeAll(keepingCapacity: true)
        outCounters.removeAll(keepingCapacity: true)
        outKeys.append(contentsOf: UnsafeBufferPointer(start: keys, count: count))
        outCounters.append(contentsOf: UnsafeBufferPointer(start: counters, count: count))
    }

    /// Bytes of memory the table holds now.
    public var memoryFootprint: Int {
        capacity * (MemoryLayout<TrafficKey>.stride + MemoryLayout<TrafficCounters>.stride + 8)
            + (indexMask + 1) * 4
    }

    // MARK: - internals

    @usableFromInline
    func moveToHead(_ entry: Int32) {
        let e = Int(entry)
        let n = newer[e], o = older[e]
        if n >= 0 { older[Int(n)] = o }
        if o >= 0 { newer[Int(o)] = n } else { tail = n }
        newer[e] = -1
        older[e] = head
        if head >= 0 { newer[Int(head)] = entry }
        head = entry
        if tail < 0 { tail = entry }
    }

    @usableFromInline
    func insert(_ key: TrafficKey, bytes: UInt64, emptySlot: Int) {
        var slot = emptySlot
        let entry: Int32
        if count == maxSeries {
            // Full: reuse the least recently active entry.
            entry = tail
            removeFromIndex(entry)
            unlink(entry)
            evictedSeries &+= 1
            slot = probeEmptySlot(for: key)
        } else {
            if count == capacity {
                grow()
                slot = probeEmptySlot(for: key)
            }
            entry = Int32(count)
            count += 1
        }
        keys[Int(entry)] = key
        counters[Int(entry)] = TrafficCounters(bytes: bytes, packets: 1)
        index[slot] = entry
        newer[Int(entry)] = -1
        older[Int(entry)] = head
        if head >= 0 { newer[Int(head)] = entry }
        head = entry
        if tail < 0 { tail = entry }
    }

    func unlink(_ entry: Int32) {
        let e = Int(entry)
        let n = newer[e], o = older[e]
        if n >= 0 { older[Int(n)] = o } else { head = o }
        if o >= 0 { newer[Int(o)] = n } else { tail = n }
    }

    func probeEmptySlot(for key: TrafficKey) -> Int {
        var slot = Int(truncatingIfNeeded: key.hashValue(seed: seed)) & indexMask
        while index[slot] >= 0 { slot = (slot + 1) & indexMask }
        return slot
    }

    func findSlot(_ key: TrafficKey) -> Int? {
        var slot = Int(truncatingIfNeeded: key.hashValue(seed: seed)) & indexMask
        while true {
            let entry = index[slot]
            if entry < 0 { return nil }
            if keys[Int(entry)] == key { return slot }
            slot = (slot + 1) & indexMask
        }
    }

    /// Removes the entry's slot with backward-shift deletion, so probes never need
    /// tombstones.
    func removeFromIndex(_ entry: Int32) {
        guard var hole = findSlot(keys[Int(entry)]) else { return }
        index[hole] = -1
        var slot = (hole + 1) & indexMask
        while index[slot] >= 0 {
            let moving = index[slot]
            let home = Int(truncatingIfNeeded: keys[Int(moving)].hashValue(seed: seed)) & indexMask
            // Move back if the hole lies cyclically between home and slot.
            let distanceToHole = (hole - home) & indexMask
            let distanceToSlot = (slot - home) & indexMask
            if distanceToHole < distanceToSlot {
                index[hole] = moving
                index[slot] = -1
                hole = slot
            }
            slot = (slot + 1) & indexMask
        }
    }

    func grow() {
        let newCapacity = min(maxSeries, capacity * 2)
        keys = Self.reallocate(keys, from: capacity, to: newCapacity)
        counters = Self.reallocate(counters, from: capacity, to: newCapacity)
        newer = Self.reallocate(newer, from: capacity, to: newCapacity)
        older = Self.reallocate(older, from: capacity, to: newCapacity)
        capacity = newCapacity
        let slots = Self.indexSize(for: newCapacity)
        index.deallocate()
        index = .allocate(capacity: slots)
        index.initialize(repeating: -1, count: slots)
        indexMask = slots - 1
        for entry in 0..<count {
            var slot = Int(truncatingIfNeeded: keys[entry].hashValue(seed: seed)) & indexMask
            while index[slot] >= 0 { slot = (slot + 1) & indexMask }
            index[slot] = Int32(entry)
        }
    }

    static func reallocate<T>(_ old: UnsafeMutablePointer<T>, from: Int, to: Int) -> UnsafeMutablePointer<T> {
        let fresh = UnsafeMutablePointer<T>.allocate(capacity: to)
        fresh.moveInitialize(from: old, count: from)
        old.deallocate()
        return fresh
    }
}
