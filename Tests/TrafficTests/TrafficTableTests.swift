import NetAddress
import TestSupport
import Testing
@testable import Traffic

@Suite struct TrafficTableTests {
    func key(_ n: UInt32, port: UInt16? = 443, direction: Direction = .ingress) -> TrafficKey {
        TrafficKey(peer: IPAddress(ipv4: 0x0A00_0000 | n), direction: direction, ipProtocol: 6, port: port)
    }

    @Test func countsBytesAndPacketsPerKey() {
        let table = TrafficTable(maxSeries: 10)
        table.add(key(1), bytes: 100)
        table.add(key(1), bytes: 50)
        table.add(key(1, direction: .egress), bytes: 7)
        table.add(key(1, port: nil), bytes: 3)
        #expect(table.count == 3)
        #expect(table.counters(for: key(1)) == TrafficCounters(bytes: 150, packets: 2))
        #expect(table.counters(for: key(1, direction: .egress)) == TrafficCounters(bytes: 7, packets: 1))
        #expect(table.counters(for: key(1, port: nil)) == TrafficCounters(bytes: 3, packets: 1))
        #expect(table.counters(for: key(2)) == nil)
    }

    @Test func evictedSeriesKeepTheirBytesCounted() {
        let table = TrafficTable(maxSeries: 2)
        table.add(key(1), bytes: 100)
        table.add(key(1), bytes: 20)
        table.add(key(2), bytes: 7)
        // Evicts 2: one packet, on probation, although 1 is less recently active.
        table.add(key(3), bytes: 1)
        #expect(table.evictedSeries == 1)
        #expect(table.evictedBytes == 7)
        #expect(table.counters(for: key(1))?.bytes == 120)
        let held = table.snapshot().reduce(0) { $0 + $1.counters.bytes }
        #expect(held + table.evictedBytes == 128)
    }

    @Test func evictsLeastRecentlyActive() {
        let table = TrafficTable(maxSeries: 3)
        table.add(key(1), bytes: 1)
        table.add(key(2), bytes: 1)
        table.add(key(3), bytes: 1)
        table.add(key(1), bytes: 1)  // 2 is now the least recently active
        table.add(key(4), bytes: 1)
        #expect(table.count == 3)
        #expect(table.evictedSeries == 1)
        #expect(table.counters(for: key(2)) == nil)
        #expect(table.counters(for: key(1))?.bytes == 2)
        #expect(Set(table.snapshot().map(\.key)) == [key(4), key(1), key(3)])
    }

    @Test func evictsTheLeastRecentSixteenthAtOnce() {
        let table = TrafficTable(maxSeries: 64)
        for n in 0..<64 { table.add(key(UInt32(n)), bytes: 1) }
        for n in 0..<8 { table.add(key(UInt32(n)), bytes: 1) }  // 0-7 active again
        table.add(key(1000), bytes: 1)
        #expect(table.evictedSeries == 4)
        #expect(table.count == 61)
        for n in 8..<12 { #expect(table.counters(for: key(UInt32(n))) == nil, "series \(n) was among the least recent") }
        for n in Array(0..<8) + Array(12..<64) + [1000] { #expect(table.counters(for: key(UInt32(n))) != nil) }
    }

    @Test func matchesADictionaryUnderRandomLoadWithEviction() {
        var rng = SplitMix(seed: 42)
        let bound = 500
        let table = TrafficTable(maxSeries: bound, initialCapacity: 16, seed: 7)
        var reference: [TrafficKey: UInt64] = [:]
        var packets: [TrafficKey: Int] = [:]
        var recency: [TrafficKey] = []  // least recent first
        var evicted: UInt64 = 0
        for _ in 0..<50_000 {
            let k = key(UInt32(rng.next() % 2000), port: UInt16(rng.next() % 3))
            let bytes = rng.next() % 1500
            table.add(k, bytes: bytes)
            if let value = reference[k] {
                reference[k] = value + bytes
                packets[k, default: 0] += 1
                recency.removeAll { $0 == k }
            } else {
                if reference.count == bound {
                    // A sixteenth goes at once: one-packet series first, least recently
                    // active first in each group.
                    let order = recency.filter { packets[$0] == 1 } + recency.filter { packets[$0]! > 1 }
                    let victims = Set(order.prefix(bound / 16))
                    for victim in victims {
                        reference.removeValue(forKey: victim)
                        packets.removeValue(forKey: victim)
                    }
                    recency.removeAll { victims.contains($0) }
                    evicted += UInt64(bound / 16)
                }
                reference[k] = bytes
                packets[k] = 1
            }
            recency.append(k)
        }
        #expect(table.count == reference.count)
        #expect(table.evictedSeries == evicted)
        for (k, bytes) in reference { #expect(table.counters(for: k)?.bytes == bytes) }
        #expect(Set(table.snapshot().map(\.key)) == Set(recency))
    }

    @Test func batchedAddsMatchSingleAddsThroughGrowthAndEviction() {
        var rng = SplitMix(seed: 9)
        let single = TrafficTable(maxSeries: 300, initialCapacity: 16, seed: 3)
        let batched = TrafficTable(maxSeries: 300, initialCapacity: 16, seed: 3)
        let keys = UnsafeMutablePointer<TrafficKey>.allocate(capacity: 32)
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        let bytes = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        defer { keys.deallocate(); hashes.deallocate(); bytes.deallocate() }
        for _ in 0..<2000 {
            let n = Int(rng.next() % 32) + 1
            for i in 0..<n {
                keys[i] = key(UInt32(rng.next() % 500), port: UInt16(rng.next() % 2))
                hashes[i] = batched.hash(keys[i])
                bytes[i] = rng.next() % 1500
                single.add(keys[i], bytes: bytes[i])
            }
            batched.add(batch: keys, hashes: hashes, bytes: bytes, count: n)
        }
        #expect(batched.evictedSeries == single.evictedSeries)
        #expect(batched.evictedSeries > 0)
        let a = Dictionary(uniqueKeysWithValues: single.snapshot().map { ($0.key, $0.counters) })
        let b = Dictionary(uniqueKeysWithValues: batched.snapshot().map { ($0.key, $0.counters) })
        #expect(a == b)
    }

    /// The index's tags only let a probe pass over the slots of other keys. Keys that share
    /// a tag (all of them, with no tag bits) must still each find their own entry, batched
    /// or one at a time, through growth and eviction: the same counts as with whole tags,
    /// and, without eviction, as a dictionary's.
    @Test(arguments: [0, 1, 3])
    func keysSharingATagKeepTheirOwnCounts(tagBits: Int) {
        var rng = SplitMix(seed: 5)
        let whole = TrafficTable(maxSeries: 400, initialCapacity: 16, seed: 3)
        let narrowed = TrafficTable(maxSeries: 400, initialCapacity: 16, seed: 3, tagBits: tagBits)
        let unbounded = TrafficTable(maxSeries: 10_000, initialCapacity: 16, seed: 3, tagBits: tagBits)
        var reference: [TrafficKey: TrafficCounters] = [:]
        let keys = UnsafeMutablePointer<TrafficKey>.allocate(capacity: 32)
        let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        let bytes = UnsafeMutablePointer<UInt64>.allocate(capacity: 32)
        defer { keys.deallocate(); hashes.deallocate(); bytes.deallocate() }
        for _ in 0..<1500 {
            let n = Int(rng.next() % 32) + 1
            for i in 0..<n {
                keys[i] = key(UInt32(rng.next() % 1000), port: UInt16(rng.next() % 2))
                hashes[i] = narrowed.hash(keys[i])
                bytes[i] = rng.next() % 1500
                whole.add(keys[i], bytes: bytes[i])
                reference[keys[i], default: TrafficCounters()].bytes += bytes[i]
                reference[keys[i], default: TrafficCounters()].packets += 1
            }
            narrowed.add(batch: keys, hashes: hashes, bytes: bytes, count: n)
            for i in 0..<n { unbounded.add(keys[i], bytes: bytes[i]) }
        }
        #expect(narrowed.evictedSeries == whole.evictedSeries)
        #expect(narrowed.evictedSeries > 0)
        let a = Dictionary(uniqueKeysWithValues: whole.snapshot().map { ($0.key, $0.counters) })
        let b = Dictionary(uniqueKeysWithValues: narrowed.snapshot().map { ($0.key, $0.counters) })
        #expect(a == b)
        for (key, counters) in a { #expect(narrowed.counters(for: key) == counters) }
        #expect(unbounded.count == reference.count)
        for (key, counters) in reference { #expect(unbounded.counters(for: key) == counters) }
    }

    /// Past 2 MiB the entries and the index are allocated for huge pages; counting, growth
    /// and eviction must not notice.
    @Test func largeTablesCountEveryPacketThroughGrowthAndEviction() {
        let table = TrafficTable(maxSeries: 60_000, initialCapacity: 16)
        for round in 0..<2 {
            for n in 0..<60_000 { table.add(key(UInt32(n)), bytes: UInt64(n % 1500)) }
            #expect(table.count == 60_000)
            #expect(table.counters(for: key(59_999)) == TrafficCounters(bytes: UInt64(59_999 % 1500) * UInt64(round + 1),
                                                                    packets: UInt64(round + 1)))
        }
        #expect(table.memoryFootprint >= 60_000 * 56)
        for n in 60_000..<70_000 { table.add(key(UInt32(n)), bytes: 1) }
        #expect(table.evictedSeries == UInt64(70_000 - table.count))
        #expect(table.counters(for: key(69_999))?.packets == 1)
    }

    @Test func memoryStaysBoundedPastTheLimit() {
        let table = TrafficTable(maxSeries: 1000)
        // Fill past the bound once, so the table has everything it will ever allocate.
        for n in 0..<1001 { table.add(key(UInt32(n)), bytes: 1) }
        let footprint = table.memoryFootprint
        for n in 1001..<100_000 { table.add(key(UInt32(n)), bytes: 1) }
        #expect(table.memoryFootprint == footprint)
        #expect((1000 - 1000 / 16)...1000 ~= table.count)
        #expect(table.evictedSeries == UInt64(100_000 - table.count))
        #expect(footprint / 1000 <= 256, "bytes per series: \(footprint / 1000)")
    }

    /// A million one-packet spoofed peers through a table of 2,000 series, with 100 real
    /// peers among them sending 400 packets each, two at a time every 5,000 flood packets:
    /// far longer than the least recently active series would stay, and still the real
    /// peers' series stay exact.
    @Test func oneOffSourcesDoNotEvictPeersThatKeepTalking() {
        let table = TrafficTable(maxSeries: 2_000, seed: 7)
        var random = SplitMix(seed: 11)
        let steady = (0..<100).map { key(UInt32($0), port: 53, direction: .egress) }
        for flood in 0..<1_000_000 {
            // Spoofed sources from 100.64.0.0/10, one packet each.
            let spoofed = TrafficKey(peer: IPAddress(ipv4: 0x6440_0000 | UInt32(truncatingIfNeeded: random.next()) & 0x3F_FFFF),
                                     direction: .ingress, ipProtocol: 17, port: UInt16(truncatingIfNeeded: random.next()))
            table.add(spoofed, bytes: 60)
            if flood % 5_000 == 0 {
                for peer in steady { table.add(peer, bytes: 128) }
            } else if flood % 5_000 == 10 {
                for peer in steady { table.add(peer, bytes: 128) }
            }
        }
        #expect(table.evictedSeries > 900_000)
        #expect(table.count <= 2_000)
        for peer in steady {
            #expect(table.counters(for: peer) == TrafficCounters(bytes: 400 * 128, packets: 400))
        }
    }
}
