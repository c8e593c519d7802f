import NetAddress
import PacketDecoding
import Testing
@testable import Traffic

/// UDP sockets bound without a peer: sendto clients are not servers, servers on an
/// ephemeral port are found by the peers that send to them.
@Suite struct UDPServerEvidenceTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!])

    func udp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, bytes: UInt32 = 100) -> PacketSummary {
        TrafficAccountingTests().packet(src, dst, proto: 17, sport: sport, dport: dport, bytes: bytes)
    }

    /// One unconnected UDP socket on `port` owned by `process`, as the agent maps an
    /// ephemeral-port socket of the socket table.
    func unconnected(_ port: UInt16, _ process: String) -> EndpointOwners {
        EndpointOwners(sockets: [EndpointOwners.Socket(ipProtocol: 17, isListener: false, address: .zero, port: port,
                                                       processName: process, isUnconnectedUDP: true)])
    }

    func bytes(_ a: TrafficAccounting, _ peer: String, _ direction: Direction, port: UInt16?, process: String) -> UInt64? {
        a.table.counters(for: TrafficKey(peer: IPAddress(peer)!, direction: direction, ipProtocol: 17, port: port,
                                         process: a.processRegistry.existingID(process) ?? 0))?.bytes
    }

    @Test func aSendtoClientCountsUnderItsServersPort() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: unconnected(45000, "dig"))
        a.count(udp("10.0.0.5", "203.0.113.53", 45000, 53, bytes: 60))
        a.count(udp("203.0.113.53", "10.0.0.5", 53, 45000, bytes: 200))
        a.count(udp("203.0.113.53", "10.0.0.5", 53, 45000, bytes: 200))
        #expect(bytes(a, "203.0.113.53", .egress, port: 53, process: "dig") == 60)
        #expect(bytes(a, "203.0.113.53", .ingress, port: 53, process: "dig") == 400)
        #expect(a.udpServerPorts.isEmpty)
    }

    @Test func aSecondPeerSendingToThePortMakesItAServer() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: unconnected(40000, "game"))
        // Both ends ephemeral: until there is evidence, the lower port.
        a.count(udp("198.51.100.1", "10.0.0.5", 50000, 40000))
        #expect(bytes(a, "198.51.100.1", .ingress, port: 40000, process: "game") == 100)
        a.count(udp("198.51.100.2", "10.0.0.5", 39000, 40000))
        #expect(a.udpServerPorts.sorted == [40000])
        #expect(bytes(a, "198.51.100.2", .ingress, port: 40000, process: "game") == 100)
        a.count(udp("10.0.0.5", "198.51.100.2", 40000, 39000, bytes: 70))
        #expect(bytes(a, "198.51.100.2", .egress, port: 40000, process: "game") == 70)
        // The same peer again is no evidence; replies from the server's port are not either.
        let b = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: unconnected(40000, "game"))
        for _ in 0..<3 { b.count(udp("198.51.100.1", "10.0.0.5", 50000, 40000)) }
        #expect(b.udpServerPorts.isEmpty)
    }

    @Test func evidenceEndsWithTheSocket() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: unconnected(40000, "game"))
        a.count(udp("198.51.100.1", "10.0.0.5", 50000, 40000))
        a.count(udp("198.51.100.2", "10.0.0.5", 50000, 40000))
        #expect(a.udpServerPorts.sorted == [40000])
        a.endpoints = unconnected(40000, "game")
        #expect(a.udpServerPorts.sorted == [40000])
        a.endpoints = unconnected(41000, "dig")
        #expect(a.udpServerPorts.isEmpty)
        // A first peer remembered before the new reading is forgotten with it.
        a.count(udp("198.51.100.1", "10.0.0.5", 53, 41000))
        a.endpoints = unconnected(41000, "dig")
        a.count(udp("198.51.100.1", "10.0.0.5", 53, 41000))
        #expect(a.udpServerPorts.isEmpty)
    }
}
