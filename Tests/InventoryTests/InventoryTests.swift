import NetAddress
import Testing
@testable import Inventory

private func ip(_ text: String) -> IPAddress { IPAddress(text)! }

private func entry(_ network: String, _ hostgroup: String) -> InventoryEntry {
    InventoryEntry(network: IPNetwork(network)!, host: InventoryHost(hostgroup: hostgroup, domain: "\(hostgroup).example"),
                   isCIDRNotation: network.contains("/"))
}

@Suite struct InventoryTests {
    @Test func goOriginalExampleResolves() throws {
        let parsed = try InventoryParser.parse(try inventoryFixture("go-original-arrayjson.json"), format: .arrayjson)
        let inventory = Inventory(entries: parsed.entries)
        #expect(inventory.lookup(ip("10.1.2.3")) == InventoryHost(hostgroup: "xyz", domain: "xyz.service.consul"))
        #expect(inventory.lookup(ip("10.2.3.4")) == InventoryHost(hostgroup: "debugapp", domain: "debugapp.service.consul"))
        #expect(inventory.lookup(ip("10.3.200.1")) == InventoryHost(hostgroup: "unknown-but-its-network-xyz", domain: ""))
        #expect(inventory.lookup(ip("100.100.98.18")) == nil)
    }

    @Test func bareAddressBeatsAnEqualCIDREntryInEitherOrder() {
        let bareFirst = Inventory(entries: [entry("10.0.0.1", "bare"), entry("10.0.0.1/32", "cidr"), entry("10.0.0.0/24", "net")])
        let cidrFirst = Inventory(entries: [entry("10.0.0.1/32", "cidr"), entry("10.0.0.1", "bare"), entry("10.0.0.0/24", "net")])
        for inventory in [bareFirst, cidrFirst] {
            #expect(inventory.lookup(ip("10.0.0.1"))?.hostgroup == "bare")
            #expect(inventory.lookup(ip("10.0.0.2"))?.hostgroup == "net")
        }
        let v6 = Inventory(entries: [entry("2001:db8::1", "bare"), entry("2001:db8::1/128", "cidr")])
        #expect(v6.lookup(ip("2001:db8::1"))?.hostgroup == "bare")
    }

    @Test func duplicateBareAddressesLastOneWins() {
        let inventory = Inventory(entries: [entry("10.0.0.1", "first"), entry("10.0.0.1", "second")])
        #expect(inventory.lookup(ip("10.0.0.1"))?.hostgroup == "second")
    }

    @Test func loopbackIsLocalhostAsInTheGoOriginal() {
        let inventory = Inventory(entries: [entry("127.0.0.1", "mine"), entry("127.0.0.0/8", "loopnet"), entry("::/0", "any6")])
        #expect(inventory.lookup(ip("127.0.0.1")) == .localhost)
        #expect(inventory.lookup(ip("::1")) == .localhost)
        #expect(inventory.lookup(ip("127.0.0.53"))?.hostgroup == "loopnet")
        #expect(Inventory(entries: []).lookup(ip("127.0.0.1")) == .localhost)
        #expect(Inventory(entries: []).networkCount == 2)
    }

    @Test func emptySnapshotKnowsNothing() {
        #expect(Inventory.empty.lookup(ip("127.0.0.1")) == nil)
        #expect(Inventory.empty.networkCount == 0)
    }

    @Test func snapshotIdentity() {
        let a = Inventory(entries: [])
        let copy = a
        #expect(a.isSameSnapshot(as: copy))
        #expect(!a.isSameSnapshot(as: Inventory(entries: [])))
    }
}

@Suite struct InventoryLabelCacheTests {
    @Test func answersLikeTheInventoryAndRemembersMisses() {
        let inventory = Inventory(entries: [entry("10.0.0.0/8", "net")])
        let cache = InventoryLabelCache()
        #expect(cache.host(for: ip("10.1.2.3"), in: inventory) == InventoryHost(hostgroup: "net", domain: "net.example"))
        #expect(cache.host(for: ip("192.0.2.1"), in: inventory) == .unknown)
        #expect(cache.host(for: ip("10.1.2.3"), in: inventory).hostgroup == "net")
        #expect(cache.count == 2)
    }

    @Test func refreshedInventoryShowsAtTheNextCall() {
        let cache = InventoryLabelCache()
        let old = Inventory(entries: [entry("10.0.0.0/8", "old")])
        #expect(cache.host(for: ip("10.1.2.3"), in: old).hostgroup == "old")
        #expect(cache.host(for: ip("192.0.2.1"), in: old) == .unknown)
        let new = Inventory(entries: [entry("10.1.0.0/16", "new"), entry("192.0.2.0/24", "added")])
        #expect(cache.host(for: ip("10.1.2.3"), in: new).hostgroup == "new")
        #expect(cache.host(for: ip("192.0.2.1"), in: new).hostgroup == "added")
        #expect(cache.count == 2)
    }

    @Test func staysWithinItsCapacity() {
        let inventory = Inventory(entries: [entry("10.0.0.0/8", "net")])
        let cache = InventoryLabelCache(capacity: 100)
        for i in 0..<1000 {
            #expect(cache.host(for: IPAddress(ipv4: 0x0A00_0000 | UInt32(i)), in: inventory).hostgroup == "net")
            #expect(cache.count <= 100)
        }
    }
}
