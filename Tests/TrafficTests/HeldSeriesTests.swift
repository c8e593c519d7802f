import NetAddress
import Testing
@testable import Traffic

/// The series held for the next socket-table reading: bounded, exact per series and endpoint.
struct HeldSeriesTests {
    static let local = IPAddress("10.0.0.5")!

    static func key(_ peer: UInt32, port: UInt16 = 53) -> TrafficKey {
        TrafficKey(peer: IPAddress(ipv4: 0xC612_0000 | peer), direction: .ingress, ipProtocol: 17, port: port)
    }

    @Test func aHeldSeriesKeepsCountingWhenTheSetIsFull() {
        let held = HeldSeries(capacity: 2, seed: 1)
        #expect(held.add(Self.key(1), address: Self.local, port: 53, bytes: 10))
        #expect(held.add(Self.key(2), address: Self.local, port: 53, bytes: 20))
        #expect(!held.add(Self.key(3), address: Self.local, port: 53, bytes: 30), "full: a new series is not held")
        #expect(held.add(Self.key(1), address: Self.local, port: 53, bytes: 5))
        var seen: [(UInt32, TrafficCounters)] = []
        held.forEach { seen.append((UInt32(truncatingIfNeeded: $0.key.peer.low), $0.counters)) }
        #expect(seen.map(\.0) == [0xC612_0001, 0xC612_0002], "in the order first held")
        #expect(seen.map(\.1) == [TrafficCounters(bytes: 15, packets: 2), TrafficCounters(bytes: 20, packets: 1)])
        #expect(held.bytes == 35)
    }

    /// The filter never says no to a series held, and says no to most of a flood's others.
    @Test func theFilterKnowsEverySeriesHeld() {
        let held = HeldSeries(capacity: 4096, seed: 4)
        for peer in 0..<UInt32(4096) { #expect(held.add(Self.key(peer), address: Self.local, port: 53, bytes: 1)) }
        #expect(held.isFull)
        for peer in 0..<UInt32(4096) { #expect(held.mayHold(keyHash: HeldSeries.keyHash(Self.key(peer)), address: Self.local, port: 53)) }
        let others = (4096..<UInt32(69_632)).filter { held.mayHold(keyHash: HeldSeries.keyHash(Self.key($0)), address: Self.local, port: 53) }
        #expect(others.count < 65_536 / 32, "about one in 50 of the series not held passes")
        held.removeAll()
        #expect(!held.isFull)
        #expect((0..<UInt32(4096)).allSatisfy { !held.mayHold(keyHash: HeldSeries.keyHash(Self.key($0)), address: Self.local, port: 53) })
    }

    /// New connections to one peer's service from many local ports: one key, each held for
    /// its own endpoint. The filter tells the endpoints apart as it does the keys.
    @Test func theFilterTellsTheEndpointsOfOneKeyApart() {
        let held = HeldSeries(capacity: 4096, seed: 5)
        let key = Self.key(1, port: 443)
        for port in 0..<UInt16(4096) { #expect(held.add(key, address: Self.local, port: 30000 + port, bytes: 1)) }
        let keyHash = HeldSeries.keyHash(key)
        #expect((0..<UInt16(4096)).allSatisfy { held.mayHold(keyHash: keyHash, address: Self.local, port: 30000 + $0) })
        let others = (34096..<UInt16(60000)).filter { held.mayHold(keyHash: keyHash, address: Self.local, port: $0) }
        #expect(others.count < 25_904 / 25, "about one in 50 of the endpoints not held passes")
        let elsewhere = (0..<UInt16(4096)).filter { held.mayHold(keyHash: keyHash, address: IPAddress("10.0.0.6")!, port: 30000 + $0) }
        #expect(elsewhere.count < 4096 / 25, "the same ports on another local address")
    }

    @Test func theLocalEndpointIsPartOfWhatIsHeld() {
        let held = HeldSeries(capacity: 16, seed: 2)
        let other = IPAddress("10.0.0.6")!
        for (address, port) in [(Self.local, UInt16(53)), (other, 53), (Self.local, 54)] {
            #expect(held.add(Self.key(1), address: address, port: port, bytes: 1))
        }
        #expect(held.count == 3)
    }

    /// Thousands of series in one set, each seen twice, the set emptied and filled again:
    /// every probe sequence finds its own entry however the hashes collide.
    @Test func manySeriesStayApartAndTheSetEmpties() {
        let held = HeldSeries(capacity: 4096, seed: 3)
        for round in 0..<2 {
            for _ in 0..<2 {
                for peer in 0..<UInt32(4096) {
                    #expect(held.add(Self.key(peer, port: UInt16(round)), address: Self.local, port: UInt16(peer & 7), bytes: 1))
                }
            }
            #expect(held.count == 4096)
            var packets: UInt64 = 0
            held.forEach { entry in
                #expect(entry.counters == TrafficCounters(bytes: 2, packets: 2))
                #expect(UInt16(entry.key.peer.low & 7) == entry.port)
                packets += entry.counters.packets
            }
            #expect(packets == 8192)
            held.removeAll()
            #expect(held.count == 0 && held.bytes == 0)
        }
    }
}

extension HeldSeries {
    /// The hash of `key` under a series table's seed, as the accounting takes it from its table.
    static func keyHash(_ key: TrafficKey) -> UInt64 {
        key.hashValue(seed: 0x5EED)
    }

    /// `add` with the hashes worked out here, as the accounting does a batch before.
    func add(_ key: TrafficKey, address: IPAddress, port: UInt16, bytes: UInt64) -> Bool {
        let keyHash = Self.keyHash(key)
        return add(key, address: address, port: port, bytes: bytes, keyHash: keyHash,
                   hash: hash(keyHash: keyHash, address: address, port: port))
    }
}
