import NetAddress
import TestSupport
import Testing

/// The tables index by a hash's low bits and tag by its high ones: both must spread the
/// keys a flood brings (consecutive addresses, one port), and the seed must matter.
struct SeededHashTests {
    /// Bucket loads of `count` keys hashed by `key` into `buckets` buckets taken by `bits`.
    static func loads(count: Int, buckets: Int, seed: UInt64, bits: (UInt64) -> Int,
                      key: (Int) -> (UInt64, UInt64, UInt64)) -> [Int] {
        var loads = [Int](repeating: 0, count: buckets)
        for index in 0..<count {
            let (a, b, c) = key(index)
            loads[bits(SeededHash.mix(seed: seed, a, b, c)) & (buckets - 1)] += 1
        }
        return loads
    }

    /// 65,536 consecutive IPv4 peers on one port, 16 per bucket on average: a uniform hash
    /// puts at most about 32 in any of the 4,096 buckets; allow 48.
    @Test(arguments: [UInt64(1), 0xDEAD_BEEF, 0x8000_0000_0000_0000])
    func consecutiveAddressesSpreadOverLowAndHighBits(seed: UInt64) {
        let peers: (Int) -> (UInt64, UInt64, UInt64) = { (0xFFFF_C612_0000 | UInt64($0), 0, 53 << 32 | 17) }
        let low = Self.loads(count: 65_536, buckets: 4096, seed: seed, bits: { Int(truncatingIfNeeded: $0) }, key: peers)
        let high = Self.loads(count: 65_536, buckets: 4096, seed: seed, bits: { Int($0 >> 52) }, key: peers)
        #expect(low.max()! <= 48 && low.min()! >= 1)
        #expect(high.max()! <= 48 && high.min()! >= 1)
        // Ports alone, the address fixed: the third word spreads as well.
        let ports = Self.loads(count: 65_536, buckets: 4096, seed: seed, bits: { Int(truncatingIfNeeded: $0) },
                               key: { (0xFFFF_0A00_0005, 0, UInt64($0) << 32 | 6) })
        #expect(ports.max()! <= 48 && ports.min()! >= 1)
    }

    /// Flipping one input bit flips about half the output bits, in every word.
    @Test func oneBitChangesHalfTheHash() {
        var random = SplitMix(seed: 7)
        for word in 0..<3 {
            var flipped = 0, trials = 0
            for _ in 0..<200 {
                let words = [random.next(), random.next(), random.next()]
                let base = SeededHash.mix(seed: 42, words[0], words[1], words[2])
                for bit in 0..<64 {
                    var changed = words
                    changed[word] ^= 1 << UInt64(bit)
                    flipped += (SeededHash.mix(seed: 42, changed[0], changed[1], changed[2]) ^ base).nonzeroBitCount
                    trials += 1
                }
            }
            let mean = Double(flipped) / Double(trials)
            #expect(mean > 30 && mean < 34, "word \(word): \(mean) bits flipped on average")
        }
    }

    /// The same keys under another seed land elsewhere: a sender who does not know the
    /// seed cannot aim keys at one bucket.
    @Test func theSeedKeysEveryWord() {
        var same = 0
        for index in 0..<10_000 {
            let a = UInt64(index), b = UInt64(index) &* 3, c = UInt64(index) &* 5
            if SeededHash.mix(seed: 1, a, b, c) & 0xFFF == SeededHash.mix(seed: 2, a, b, c) & 0xFFF { same += 1 }
        }
        // 1 in 4,096 by chance: about 2 of 10,000.
        #expect(same < 20)
    }
}
