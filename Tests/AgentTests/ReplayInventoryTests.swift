import Agent
import Foundation
import Inventory
import NetAddress
import PlanetMetrics
import Testing

/// replay --inventory: local labels are those of the host whose capture it is.
@Suite struct ReplayInventoryTests {
    let inventory = Inventory(entries: [
        InventoryEntry(network: IPNetwork("10.0.0.5")!, host: InventoryHost(hostgroup: "db", domain: "db1.example"), isCIDRNotation: false),
        InventoryEntry(network: IPNetwork("10.0.0.9")!, host: InventoryHost(hostgroup: "web", domain: "web1.example"), isCIDRNotation: false),
        InventoryEntry(network: IPNetwork("10.0.0.0/24")!, host: InventoryHost(hostgroup: "lan", domain: ""), isCIDRNotation: true),
        InventoryEntry(network: IPNetwork("192.0.2.7")!, host: InventoryHost(hostgroup: "replayer", domain: "me.example"), isCIDRNotation: false),
    ])
    let replayer = IPAddress("192.0.2.7")!

    @Test func aSingleAddressNamesTheHost() {
        let labels = Replay.enrichment(inventory: inventory, localNetworks: [IPNetwork("10.0.0.5/32")!], hostAddress: replayer)
        #expect(labels.local == InventoryHost(hostgroup: "db", domain: "db1.example"))
        #expect(labels.lookup(IPAddress("10.0.0.9")!)?.hostgroup == "web")
    }

    @Test func theFirstKnownSingleAddressWinsNetworksArePassedOver() {
        let networks = [IPNetwork("10.1.0.0/16")!, IPNetwork("172.16.0.1")!, IPNetwork("10.0.0.9/32")!, IPNetwork("10.0.0.5")!]
        #expect(Replay.enrichment(inventory: inventory, localNetworks: networks, hostAddress: replayer).local.hostgroup == "web")
    }

    @Test func anUnknownHostHasEmptyLabelsNotTheReplayersOwn() {
        let labels = Replay.enrichment(inventory: inventory, localNetworks: [IPNetwork("2001:db8::1/128")!], hostAddress: replayer)
        #expect(labels.local == .unknown)
    }

    @Test func withoutASingleAddressTheReplayingMachineIsLocal() {
        #expect(Replay.enrichment(inventory: inventory, localNetworks: [], hostAddress: replayer).local.hostgroup == "replayer")
        #expect(Replay.enrichment(inventory: inventory, localNetworks: [IPNetwork("10.0.0.0/24")!], hostAddress: replayer).local.hostgroup == "replayer")
    }

    @Test func replayedSeriesCarryTheCapturedHostsLabels() throws {
        let file = ReplayFixtureTests.directory.appendingPathComponent("ipv4.pcap").path
        let local = [IPNetwork("10.0.0.5/32")!]
        let result = Replay.run(files: [file], localAddresses: LocalAddresses(networks: local), maxSeries: 1000,
                                enrichment: Replay.enrichment(inventory: inventory, localNetworks: local, hostAddress: replayer))
        let text = String(decoding: result.exposition, as: UTF8.self)
        let traffic = text.split(separator: "\n").filter { $0.hasPrefix("planet_traffic_bytes_total{") }
        #expect(!traffic.isEmpty)
        #expect(traffic.allSatisfy { $0.contains(#"local_domain="db1.example",local_hostgroup="db""#) })
    }
}
