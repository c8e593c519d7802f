import NetAddress
import PacketDecoding
import Testing
@testable import Traffic

@Suite struct TCPConnectionsTests {
    let host = "10.0.0.5"

    func segment(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ flags: UInt8, seq: UInt32, ack: UInt32 = 0,
                 payload: UInt16 = 0, window: UInt16 = 1000, at micros: UInt64) -> PacketSummary {
        var p = TCPHealthTests().segment(src, dst, sport, dport, flags, at: micros)
        p.ipBytes = 40 + UInt32(payload)
        p.tcpFields = PacketSummary.tcpHeaderRead
        p.tcpSequence = seq
        p.tcpAcknowledgment = ack
        p.tcpPayload = payload
        p.tcpWindow = window
        return p
    }

    func edge(_ health: TCPHealth, _ peer: String, _ port: UInt16) -> TCPEdgeHealth? {
        let snapshot = health.snapshot()
        return zip(snapshot.keys, snapshot.edges).first { $0.0.peer == IPAddress(peer)! && $0.0.port == port }?.1
    }

    /// The table's size in docs/metrics.md: 16,384 slots of this stride.
    @Test func aConnectionSlotStaysSmall() {
        print("connection slot stride", MemoryLayout<TCPHealth.Connection>.stride)
        #expect(MemoryLayout<TCPHealth.Connection>.stride <= 448)
        #expect(_isPOD(TCPHealth.Connection.self))
    }

    /// Five connections in a table of one set of four slots: the one idle longest is
    /// evicted and counted, and the data it carried before is still on its edge.
    @Test func anEvictedConnectionIsCountedAndKeepsItsCounts() {
        let health = TCPHealth(connectionTableSize: 4)
        for i in 0..<5 {
            let port = UInt16(40000 + i)
            health.observe(segment(host, "192.0.2.10", port, 443, 0x18, seq: 100, ack: 1, payload: 10, at: UInt64(i) * 1000),
                           fromLocal: true, servicePort: 443)
        }
        // The first connection comes back: its slot is gone, so this is not a retransmission.
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: 100, ack: 1, payload: 10, at: 9000),
                       fromLocal: true, servicePort: 443)
        let snapshot = health.snapshot()
        #expect(snapshot.evictedConnections == 2)
        let local = edge(health, "192.0.2.10", 443)?.local
        #expect(local?.dataSegments == 6)
        #expect(local?.retransmissions == 0)
    }

    /// Sequence numbers wrap past 2^32: a segment after the wrap is new data, and a copy of
    /// one before it is a retransmission.
    @Test func sequenceNumbersWrap() {
        let health = TCPHealth()
        let start = UInt32.max - 15
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: start, ack: 1, payload: 10, at: 0), fromLocal: true, servicePort: 443)
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: start &+ 10, ack: 1, payload: 10, at: 10), fromLocal: true, servicePort: 443)
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: start &+ 20, ack: 1, payload: 10, at: 20), fromLocal: true, servicePort: 443)
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: start &+ 10, ack: 1, payload: 10, at: 30), fromLocal: true, servicePort: 443)
        let local = edge(health, "192.0.2.10", 443)?.local
        #expect(local?.dataSegments == 4)
        #expect(local?.retransmissions == 1)
        #expect(local?.outOfOrder == 0)
    }

    /// Data sent again in new boundaries with new bytes past the highest sequence is new
    /// data; a copy lying wholly below it is a retransmission.
    @Test func overlappingNewDataIsNotARetransmission() {
        let health = TCPHealth()
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: 1000, ack: 1, payload: 100, at: 0), fromLocal: true, servicePort: 443)
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: 1050, ack: 1, payload: 100, at: 10), fromLocal: true, servicePort: 443)
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: 1100, ack: 1, payload: 50, at: 20), fromLocal: true, servicePort: 443)
        let local = edge(health, "192.0.2.10", 443)?.local
        #expect(local?.dataSegments == 3)
        #expect(local?.retransmissions == 1)
    }

    /// A segment's round trip to the ACK covering it, bucketed; the quantiles interpolate
    /// inside the bucket as histogram_quantile does.
    @Test func roundTripsAndTheirQuantiles() {
        let health = TCPHealth()
        var seq: UInt32 = 1
        for (i, rtt) in [30_000, 30_000, 40_000, 200_000].enumerated() {
            let t = UInt64(i) * 1_000_000
            health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: seq, ack: 1, payload: 100, at: t), fromLocal: true, servicePort: 443)
            seq &+= 100
            health.observe(segment("192.0.2.10", host, 443, 40000, 0x10, seq: 1, ack: seq, at: t + UInt64(rtt)), fromLocal: false, servicePort: 443)
        }
        let local = edge(health, "192.0.2.10", 443)!.local
        #expect(local.ackSamples == 4)
        #expect(local.rttMicroseconds == 300_000)
        #expect(local.rttBuckets[TCPHealth.rttBucket(30_000)] == 3)
        #expect(local.rttBuckets[TCPHealth.rttBucket(200_000)] == 1)
        // Three of four samples in (25, 50] ms: the median is two thirds of the way in.
        #expect(abs(local.rttQuantile(0.5)! - (0.025 + 0.025 * 2 / 3)) < 1e-9)
        #expect(abs(local.rttQuantile(0.95)! - (0.1 + 0.15 * 0.8)) < 1e-9)
    }

    /// A connection the latest socket-table reading does not name waits for the next
    /// reading; that reading names it, or its counts go under process "".
    @Test func countsWaitForTheSocketTableToNameTheProcess() {
        let health = TCPHealth()
        health.update(endpoints: EndpointOwners(sockets: []))
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: 1, ack: 1, payload: 100, at: 0), fromLocal: true, servicePort: 443)
        #expect(edge(health, "192.0.2.10", 443) == nil)
        health.update(endpoints: EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress(host)!, port: 40000, processName: "curl"),
        ]))
        let snapshot = health.snapshot()
        let named = zip(snapshot.keys, snapshot.edges).first { $0.0.process == "curl" }
        #expect(named?.1.local.dataSegments == 1)
        // The socket closes (the next reading does not list it); its last segment stays with curl.
        health.observe(segment(host, "192.0.2.10", 40000, 443, 0x19, seq: 101, ack: 1, payload: 100, at: 10), fromLocal: true, servicePort: 443)
        health.update(endpoints: EndpointOwners(sockets: []))
        let later = health.snapshot()
        #expect(later.keys.count == 1)
        #expect(zip(later.keys, later.edges).first { $0.0.process == "curl" }?.1.local.dataSegments == 2)
    }
}
