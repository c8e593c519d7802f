import NetAddress
import PacketDecoding
import Testing
@testable import Traffic

@Suite struct TCPHealthTests {
    let host = "10.0.0.5"

    func segment(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ flags: UInt8, at micros: UInt64) -> PacketSummary {
        var p = PacketSummary()
        p.source = IPAddress(src)!
        p.destination = IPAddress(dst)!
        p.ipProtocol = 6
        p.sourcePort = sport
        p.destinationPort = dport
        p.tcpFlags = flags
        p.hasPorts = true
        p.ipBytes = 40
        p.timestamp = 1_700_000_000_000_000 + micros
        return p
    }

    func edges(_ snapshot: TCPHealthSnapshot) -> [TCPEdgeKey: TCPEdgeHealth] {
        Dictionary(uniqueKeysWithValues: zip(snapshot.keys, snapshot.edges))
    }

    func key(_ peer: String, _ port: UInt16, upstream: Bool, process: String = "") -> TCPEdgeKey {
        TCPEdgeKey(peer: IPAddress(peer)!, port: port, upstream: upstream, process: process)
    }

    @Test func bucketsAreInclusiveUpperBounds() {
        #expect(TCPHealth.bucket(0) == 0)
        #expect(TCPHealth.bucket(1_000) == 0)
        #expect(TCPHealth.bucket(1_001) == 1)
        #expect(TCPHealth.bucket(2_500_000) == 5)
        #expect(TCPHealth.bucket(2_500_001) == 6)
    }

    /// Live, a SYN nobody answers times out by the capture clock at a snapshot, though no
    /// later TCP packet comes; not before its time.
    @Test func aLiveSnapshotTimesOutByTheCaptureClock() {
        func timedOut(clockAt micros: UInt64) -> UInt64 {
            let health = TCPHealth()
            health.clock = { 1_700_000_000_000_000 + micros }
            health.observe(segment(host, "192.0.2.30", 40000, 9000, 0x02, at: 0), fromLocal: true, servicePort: 9000)
            return edges(health.snapshot())[key("192.0.2.30", 9000, upstream: true)]?.timedOut ?? 0
        }
        #expect(timedOut(clockAt: 4_000_000) == 0)
        #expect(timedOut(clockAt: TCPHealth.handshakeTimeout + 1) == 1)
    }

    /// Through the accounting: a refused and a normal upstream connection, the process
    /// named by the socket table when it knows the endpoint, held until the next reading
    /// when it does not.
    @Test func processComesFromTheSocketTable() {
        let owners = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress(host)!, port: 40001, processName: "curl"),
        ])
        let a = TrafficAccounting(maxSeries: 100, localAddresses: LocalAddresses(addresses: [IPAddress(host)!]), endpoints: owners)
        a.count(segment(host, "192.0.2.10", 40001, 443, 0x02, at: 0))
        a.count(segment("192.0.2.10", host, 443, 40001, 0x12, at: 7_000))
        // Not in the reading: held.
        a.count(segment(host, "192.0.2.20", 40002, 5432, 0x02, at: 8_000))
        a.count(segment("192.0.2.20", host, 5432, 40002, 0x14, at: 9_000))
        var snapshot = a.tcpHealth.snapshot()
        #expect(snapshot.heldEvents == 2)
        var health = edges(snapshot)
        #expect(health[key("192.0.2.10", 443, upstream: true, process: "curl")]?.established == 1)
        #expect(health[key("192.0.2.10", 443, upstream: true, process: "curl")]?.buckets[2] == 1)
        #expect(health[key("192.0.2.10", 443, upstream: true, process: "curl")]?.handshakeMicroseconds == 7_000)
        a.endpoints = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress(host)!, port: 40002, processName: "psql"),
        ])
        snapshot = a.tcpHealth.snapshot()
        #expect(snapshot.heldEvents == 0)
        health = edges(snapshot)
        #expect(health[key("192.0.2.20", 5432, upstream: true, process: "psql")]?.attempts == 1)
        #expect(health[key("192.0.2.20", 5432, upstream: true, process: "psql")]?.refused == 1)
    }

    /// A table of two slots: a third concurrent handshake takes a slot from one under way,
    /// which is counted as untracked; one past its time is counted as timed out instead.
    @Test func lostHandshakesAreCounted() {
        let health = TCPHealth(maxEdges: 100, tableSize: 2, seed: 1)
        for port in UInt16(40000)..<40010 {
            health.observe(segment(host, "192.0.2.10", port, 443, 0x02, at: UInt64(port - 40000)), fromLocal: true, servicePort: 443)
        }
        var snapshot = health.snapshot()
        #expect(edges(snapshot)[key("192.0.2.10", 443, upstream: true)]?.attempts == 10)
        #expect(snapshot.untrackedHandshakes == 10 - UInt64(health.handshakesInProgress))
        #expect(health.handshakesInProgress >= 1 && health.handshakesInProgress <= 2)
        // 6 s later every handshake left has timed out; nothing more is untracked.
        health.observe(segment(host, "192.0.2.10", 41000, 443, 0x02, at: 6_000_000), fromLocal: true, servicePort: 443)
        snapshot = health.snapshot()
        let edge = edges(snapshot)[key("192.0.2.10", 443, upstream: true)]!
        #expect(edge.attempts == 11)
        #expect(snapshot.untrackedHandshakes + edge.timedOut + UInt64(health.handshakesInProgress) == 11)
        #expect(edge.timedOut >= 1)
    }

    /// A connection reset by the local end is remembered so its repeated RSTs count once,
    /// however the handshakes that start meanwhile hash: with a table of one set of four,
    /// three handshakes under way leave it its slot. A fifth connection takes the ended
    /// one's slot, not a handshake's, so nothing is untracked.
    @Test func anEndedConnectionKeepsItsSlotBesideHandshakes() {
        for seed: UInt64 in 1...20 {
            let health = TCPHealth(maxEdges: 100, tableSize: 4, seed: seed)
            health.observe(segment(host, "192.0.2.10", 40010, 443, 0x04, at: 0), fromLocal: true, servicePort: 443)
            for port in UInt16(40020)..<40023 {
                health.observe(segment(host, "192.0.2.30", port, 9000, 0x02, at: 1_000 + UInt64(port)), fromLocal: true, servicePort: 9000)
            }
            health.observe(segment("192.0.2.10", host, 443, 40010, 0x04, at: 2_000_000), fromLocal: false, servicePort: 443)
            var snapshot = health.snapshot()
            #expect(edges(snapshot)[key("192.0.2.10", 443, upstream: true)]?.reset == 1, "seed \(seed)")
            health.observe(segment(host, "192.0.2.30", 40023, 9000, 0x02, at: 2_100_000), fromLocal: true, servicePort: 9000)
            snapshot = health.snapshot()
            #expect(snapshot.untrackedHandshakes == 0, "seed \(seed)")
            #expect(health.handshakesInProgress == 4, "seed \(seed)")
        }
    }

    /// Data packets and ACKs while no downstream handshake waits leave the table alone,
    /// and a retransmitted SYN/ACK does not restart the downstream handshake's clock.
    @Test func downstreamHandshakeTimesFromTheFirstSynAck() {
        let health = TCPHealth(maxEdges: 100, seed: 2)
        health.observe(segment("198.51.100.7", host, 50000, 22, 0x02, at: 0), fromLocal: false, servicePort: 22)
        health.observe(segment(host, "198.51.100.7", 22, 50000, 0x12, at: 100), fromLocal: true, servicePort: 22)
        health.observe(segment(host, "198.51.100.7", 22, 50000, 0x12, at: 1_000_100), fromLocal: true, servicePort: 22)
        health.observe(segment("198.51.100.7", host, 50000, 22, 0x10, at: 1_000_200), fromLocal: false, servicePort: 22)
        health.observe(segment("198.51.100.7", host, 50000, 22, 0x18, at: 1_000_300), fromLocal: false, servicePort: 22)
        let edge = edges(health.snapshot())[key("198.51.100.7", 22, upstream: false)]!
        #expect(edge.attempts == 1 && edge.established == 1)
        #expect(edge.handshakeMicroseconds == 1_000_100)
        #expect(edge.buckets[5] == 1)
        #expect(health.handshakesInProgress == 0)
    }

    /// A peer's SYNs to 3,000 closed ports, each refused: a handful of edges, not 3,000, so a
    /// later real edge still finds room in a table of 100.
    @Test func aPortScanFoldsIntoOneEdgePerPeer() {
        let health = TCPHealth(maxEdges: 100, seed: 3)
        let scanner = "198.51.100.66"
        for index in 0..<3_000 {
            let port = UInt16(1_000 + index), time = UInt64(index) * 1_000
            health.observe(segment(scanner, host, 60000, port, 0x02, at: time), fromLocal: false, servicePort: port)
            health.observe(segment(host, scanner, port, 60000, 0x14, at: time + 10), fromLocal: true, servicePort: port)
        }
        var snapshot = health.snapshot()
        #expect(snapshot.keys.count == TCPHealth.unconfirmedPortsPerPeer + 1)
        #expect(snapshot.droppedEvents == 0)
        let folded = edges(snapshot)[key(scanner, 0, upstream: false)]!
        #expect(folded.attempts == UInt64(3_000 - TCPHealth.unconfirmedPortsPerPeer))
        #expect(folded.refused == folded.attempts)
        #expect(key(scanner, 0, upstream: false).portLabel == "")
        // A real connection afterwards has its own edge.
        health.observe(segment("192.0.2.30", host, 50000, 443, 0x02, at: 4_000_000), fromLocal: false, servicePort: 443)
        health.observe(segment(host, "192.0.2.30", 443, 50000, 0x12, at: 4_000_100), fromLocal: true, servicePort: 443)
        health.observe(segment("192.0.2.30", host, 50000, 443, 0x10, at: 4_000_200), fromLocal: false, servicePort: 443)
        snapshot = health.snapshot()
        #expect(edges(snapshot)[key("192.0.2.30", 443, upstream: false)]?.established == 1)
    }

    /// A port that once accepted a connection keeps its own edge whatever the peer's
    /// other ports do.
    @Test func aPortThatAcceptedKeepsItsEdge() {
        let health = TCPHealth(maxEdges: 100, seed: 4)
        let peer = "198.51.100.67"
        health.observe(segment(peer, host, 50000, 22, 0x02, at: 0), fromLocal: false, servicePort: 22)
        health.observe(segment(host, peer, 22, 50000, 0x12, at: 10), fromLocal: true, servicePort: 22)
        health.observe(segment(peer, host, 50000, 22, 0x10, at: 20), fromLocal: false, servicePort: 22)
        for index in 0..<20 {
            let port = UInt16(2_000 + index), time = UInt64(100 + index * 10)
            health.observe(segment(peer, host, 50001, port, 0x02, at: time), fromLocal: false, servicePort: port)
            health.observe(segment(host, peer, port, 50001, 0x14, at: time + 1), fromLocal: true, servicePort: port)
        }
        health.observe(segment(peer, host, 50002, 22, 0x02, at: 1_000), fromLocal: false, servicePort: 22)
        health.observe(segment(host, peer, 22, 50002, 0x14, at: 1_001), fromLocal: true, servicePort: 22)
        let snapshot = edges(health.snapshot())
        #expect(snapshot[key(peer, 22, upstream: false)]?.attempts == 2)
        #expect(snapshot[key(peer, 22, upstream: false)]?.refused == 1)
        #expect(snapshot[key(peer, 0, upstream: false)]?.refused == UInt64(20 - TCPHealth.unconfirmedPortsPerPeer))
    }

    /// Scans from many addresses fill the table; their edges age out, and a new edge fits.
    @Test func idleEdgesAgeOut() {
        let health = TCPHealth(maxEdges: 100, seed: 5)
        for index in 0..<300 {
            let scanner = "198.51.\(100 + index / 256).\(index % 256)"
            health.observe(segment(scanner, host, 60000, 23, 0x02, at: UInt64(index)), fromLocal: false, servicePort: 23)
            health.observe(segment(host, scanner, 23, 60000, 0x14, at: UInt64(index) + 1), fromLocal: true, servicePort: 23)
        }
        var snapshot = health.snapshot()
        #expect(snapshot.keys.count == 100)
        #expect(snapshot.droppedEvents == 400)
        let later = TCPHealth.edgeIdleTimeout + 1_000
        health.observe(segment("192.0.2.30", host, 50000, 443, 0x02, at: later), fromLocal: false, servicePort: 443)
        health.observe(segment(host, "192.0.2.30", 443, 50000, 0x12, at: later + 100), fromLocal: true, servicePort: 443)
        health.observe(segment("192.0.2.30", host, 50000, 443, 0x10, at: later + 200), fromLocal: false, servicePort: 443)
        snapshot = health.snapshot()
        #expect(snapshot.agedOutEdges == 100)
        #expect(snapshot.keys.count == 1)
        #expect(edges(snapshot)[key("192.0.2.30", 443, upstream: false)]?.established == 1)
    }
}
