import NetAddress
import TestSupport
import Testing
@testable import Inventory

private func net(_ text: String) -> IPNetwork { IPNetwork(text)! }
private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

private func table(_ pairs: [(String, String)]) -> PrefixTable<String> {
    var table = PrefixTable<String>()
    for (network, value) in pairs { table.insert(net(network), value) }
    return table
}


@Suite struct PrefixTableTests {
    @Test func emptyTableMatchesNothing() {
        let table = PrefixTable<String>()
        #expect(table.lookup(ip("10.0.0.1")) == nil)
        #expect(table.lookup(ip("::")) == nil)
        #expect(table.count == 0)
    }

    @Test func defaultRoutesMatchOnlyTheirFamily() {
        let v4 = table([("0.0.0.0/0", "v4-any")])
        #expect(v4.lookup(ip("203.0.113.9")) == "v4-any")
        #expect(v4.lookup(ip("0.0.0.0")) == "v4-any")
        #expect(v4.lookup(ip("2001:db8::1")) == nil)
        #expect(v4.lookup(ip("::")) == nil)

        let v6 = table([("::/0", "v6-any")])
        #expect(v6.lookup(ip("2001:db8::1")) == "v6-any")
        #expect(v6.lookup(ip("::")) == "v6-any")
        #expect(v6.lookup(ip("10.0.0.1")) == nil)
        #expect(v6.lookup(ip("255.255.255.255")) == nil)

        let both = table([("::/0", "v6-any"), ("0.0.0.0/0", "v4-any")])
        #expect(both.lookup(ip("10.0.0.1")) == "v4-any")
        #expect(both.lookup(ip("fe80::1")) == "v6-any")
    }

    @Test func shortIPv6PrefixesDoNotCoverIPv4MappedSpace() {
        // ::/64 and ::/80 contain ::ffff:0:0/96 bit for bit, yet must not match IPv4.
        let table = table([("::/64", "low64"), ("::/80", "low80")])
        #expect(table.lookup(ip("10.0.0.1")) == nil)
        #expect(table.lookup(ip("::1")) == "low80")
        #expect(table.lookup(ip("::1:0:0:0")) == "low64")
    }

    @Test func hostRoutesMatchOnlyTheirAddress() {
        let table = table([("10.0.0.1/32", "v4host"), ("2001:db8::1/128", "v6host")])
        #expect(table.lookup(ip("10.0.0.1")) == "v4host")
        #expect(table.lookup(ip("10.0.0.0")) == nil)
        #expect(table.lookup(ip("10.0.0.2")) == nil)
        #expect(table.lookup(ip("2001:db8::1")) == "v6host")
        #expect(table.lookup(ip("2001:db8::")) == nil)
        #expect(table.lookup(ip("2001:db8::2")) == nil)
    }

    @Test func longestOverlappingPrefixWinsWhateverTheInsertOrder() {
        let pairs = [("10.0.0.0/8", "8"), ("10.1.0.0/16", "16"), ("10.1.2.0/24", "24"), ("10.1.2.3/32", "32"), ("10.1.2.0/25", "25")]
        for order in [pairs, pairs.reversed(), [pairs[2], pairs[0], pairs[4], pairs[3], pairs[1]]] {
            let table = table(order)
            #expect(table.lookup(ip("10.1.2.3")) == "32")
            #expect(table.lookup(ip("10.1.2.4")) == "25")
            #expect(table.lookup(ip("10.1.2.200")) == "24")
            #expect(table.lookup(ip("10.1.3.1")) == "16")
            #expect(table.lookup(ip("10.200.0.1")) == "8")
            #expect(table.lookup(ip("11.0.0.1")) == nil)
            #expect(table.count == 5)
        }
    }

    @Test func ipv6PrefixesOfManyLengths() {
        let table = table([
            ("2001:db8::/32", "32"), ("2001:db8:1::/48", "48"), ("2001:db8:1:2::/64", "64"),
            ("2001:db8:1:2::8/125", "125"), ("2001:db8:1:2::9/128", "128"), ("fd00::/8", "ula"),
        ])
        #expect(table.lookup(ip("2001:db8:1:2::9")) == "128")
        #expect(table.lookup(ip("2001:db8:1:2::a")) == "125")
        #expect(table.lookup(ip("2001:db8:1:2::10")) == "64")
        #expect(table.lookup(ip("2001:db8:1:3::1")) == "48")
        #expect(table.lookup(ip("2001:db8:ffff::1")) == "32")
        #expect(table.lookup(ip("fdab:cd::1")) == "ula")
        #expect(table.lookup(ip("2001:db9::1")) == nil)
    }

    @Test func prefixesForkingAtTheHalfwayBit() {
        // Branch points at bit 63 and 64 exercise the boundary between the two words.
        let table = table([("2001:db8::/63", "63"), ("2001:db8:0:1::/64", "64b"), ("2001:db8::/65", "65"), ("2001:db8::8000:0:0:0/65", "65b")])
        #expect(table.lookup(ip("2001:db8::1")) == "65")
        #expect(table.lookup(ip("2001:db8::8000:0:0:1")) == "65b")
        #expect(table.lookup(ip("2001:db8:0:1::1")) == "64b")
    }

    @Test func duplicateNetworkLastOneWins() {
        let table = table([("10.0.0.0/8", "first"), ("10.0.0.0/8", "second"), ("10.9.9.9/8", "third")])
        #expect(table.lookup(ip("10.1.1.1")) == "third")
        #expect(table.count == 1)
    }

    @Test func repeatedShortPrefixStaysCheapToInsert() {
        // Each insert of a new /0 touches all 65,536 IPv4 start slots; repeats must not.
        var table = PrefixTable<Int>()
        table.insert(net("10.1.2.3/32"), -1)
        let clock = ContinuousClock()
        let start = clock.now
        for value in 0..<20_000 { table.insert(net("0.0.0.0/0"), value) }
        #expect(clock.now - start < .seconds(20))
        #expect(table.lookup(ip("192.0.2.1")) == 19_999)
        #expect(table.lookup(ip("10.1.2.3")) == -1)
        #expect(table.count == 2)
    }

    @Test func shorterPrefixInsertedAfterLongerBecomesItsParent() {
        let table = table([("10.1.2.3/32", "host"), ("10.1.0.0/16", "net")])
        #expect(table.lookup(ip("10.1.2.3")) == "host")
        #expect(table.lookup(ip("10.1.9.9")) == "net")
    }

    @Test func ipv4StartSlotsFollowInsertsAboveAndBelowSlashSixteen() {
        var table = PrefixTable<String>()
        table.insert(net("10.1.2.3/32"), "host")
        #expect(table.lookup(ip("10.1.9.9")) == nil)
        table.insert(net("10.0.0.0/8"), "8")
        #expect(table.lookup(ip("10.1.9.9")) == "8")
        #expect(table.lookup(ip("10.200.0.1")) == "8")
        table.insert(net("10.1.0.0/17"), "17")
        #expect(table.lookup(ip("10.1.9.9")) == "17")
        #expect(table.lookup(ip("10.1.200.9")) == "8")
        table.insert(net("10.1.0.0/16"), "16")
        #expect(table.lookup(ip("10.1.200.9")) == "16")
        table.insert(net("0.0.0.0/0"), "0")
        #expect(table.lookup(ip("11.0.0.1")) == "0")
        table.insert(net("10.1.2.2/31"), "31")
        #expect(table.lookup(ip("10.1.2.3")) == "host")
        #expect(table.lookup(ip("10.1.2.2")) == "31")
        #expect(table.lookup(ip("10.1.2.4")) == "17")
        table.insert(net("10.0.0.0/15"), "15")
        #expect(table.lookup(ip("10.0.5.5")) == "15")
        #expect(table.lookup(ip("10.1.200.9")) == "16")
        #expect(table.lookup(ip("10.2.0.1")) == "8")
    }

    @Test func matchesALinearScanAfterEveryInsert() {
        var random = SplitMix(seed: 42)
        var reference: [(IPNetwork, Int)] = []
        var table = PrefixTable<Int>()
        for value in 0..<400 {
            // 10.0.0.0/12 keeps the prefixes and the probes close together so they nest.
            let address = IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0..<(1 << 20), using: &random))
            let network = IPNetwork(address: address, prefixLength: Int.random(in: 4...32, using: &random))!
            table.insert(network, value)
            reference.removeAll { $0.0 == network }
            reference.append((network, value))
            // Inserting into a renumbered table must work as into a fresh one.
            if value % 50 == 49 { table.optimizeLayout() }
            for _ in 0..<25 {
                let probe = IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0..<(1 << 20), using: &random))
                let expected = reference.filter { $0.0.contains(probe) }.max { $0.0.prefixLength < $1.0.prefixLength }?.1
                #expect(table.lookup(probe) == expected)
            }
        }
    }

    @Test func matchesALinearScanOnRandomPrefixes() {
        var random = SplitMix(seed: 0x5EED_1234)
        // Addresses drawn from a few shared stems so prefixes overlap and nest heavily.
        let stems: [IPAddress] = (0..<8).map { _ in IPAddress(high: random.next(), low: random.next()) }
        func randomAddress(ipv4: Bool) -> IPAddress {
            if ipv4 {
                let stem = UInt32(truncatingIfNeeded: stems[Int.random(in: 0..<8, using: &random)].low)
                let keep = Int.random(in: 0...32, using: &random)
                let mask: UInt32 = keep == 0 ? 0 : ~0 << UInt32(32 - keep)
                return IPAddress(ipv4: (stem & mask) | (UInt32.random(in: 0...UInt32.max, using: &random) & ~mask))
            }
            let stem = stems[Int.random(in: 0..<8, using: &random)]
            let keep = Int.random(in: 0...128, using: &random)
            let noise = IPAddress(high: random.next(), low: random.next())
            let kept = stem.masked(toBits: keep)
            let rest = IPAddress(high: noise.high & ~IPAddress(high: ~0, low: ~0).masked(toBits: keep).high,
                                 low: noise.low & ~IPAddress(high: ~0, low: ~0).masked(toBits: keep).low)
            let address = IPAddress(high: kept.high | rest.high, low: kept.low | rest.low)
            // Keep the families apart as generated: an IPv6 draw that lands IPv4-mapped is rare but possible.
            return address.isIPv4 ? IPAddress(high: address.high | 1 << 63, low: address.low) : address
        }

        var reference: [(IPNetwork, Int)] = []
        var table = PrefixTable<Int>()
        for value in 0..<4000 {
            let ipv4 = Bool.random(using: &random)
            let address = randomAddress(ipv4: ipv4)
            let length = ipv4 ? Int.random(in: 0...32, using: &random) : Int.random(in: 0...128, using: &random)
            let network = IPNetwork(address: address, prefixLength: length)!
            table.insert(network, value)
            reference.removeAll { $0.0 == network }
            reference.append((network, value))
        }
        #expect(table.count == reference.count)
        var optimized = table
        optimized.optimizeLayout()

        var mismatches = 0
        var matched = 0
        var deepMatches = 0
        for _ in 0..<20000 {
            let address = randomAddress(ipv4: Bool.random(using: &random))
            var best: (length: Int, value: Int)?
            for (network, value) in reference where network.contains(address) {
                if best == nil || network.prefixLength > best!.length { best = (network.prefixLength, value) }
            }
            if table.lookup(address) != best?.value { mismatches += 1 }
            if optimized.lookup(address) != best?.value { mismatches += 1 }
            if let best { matched += 1; if best.length >= 16 { deepMatches += 1 } }
        }
        #expect(mismatches == 0)
        // Guards the generator: most lookups must hit, many through long, nested prefixes.
        #expect(matched > 10000)
        #expect(deepMatches > 2000)
    }
}
