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
        #expect(MemoryLayout<TCPHealth.Connection>.stride <= 544)
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
    /// inside the bucket around the mean of its samples.
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
        #expect(local.rttBucketMicroseconds[TCPHealth.rttBucket(30_000)] == 100_000)
        // Three of four samples in (25, 50] ms, their mean 33.3 ms: the median is two thirds
        // of the way into [25, 41.7] ms, the widest interval around that mean in the bucket.
        #expect(abs(local.rttQuantile(0.5)! - (0.025 + (0.1 / 3 - 0.025) * 2 * 2 / 3)) < 1e-9)
        // The last sample alone in (100, 250] ms at 200 ms: 0.8 of the way into [150, 250] ms.
        #expect(abs(local.rttQuantile(0.95)! - (0.15 + 0.1 * 0.8)) < 1e-9)
    }

    /// Round trips of one path all near 40 ms: the median is 40 ms, where interpolating over
    /// the whole (25, 50] ms bucket would answer 37.5 ms.
    @Test func aNarrowSpreadOfRoundTripsGivesItsMedian() {
        var sender = TCPSenderHealth()
        let bucket = TCPHealth.rttBucket(40_000)
        sender.rttBuckets[bucket] = 100
        sender.rttBucketMicroseconds[bucket] = 100 * 40_000
        sender.ackSamples = 100
        #expect(abs(sender.rttQuantile(0.5)! - 0.040) < 1e-9)
        // In the +Inf bucket, the mean of its samples.
        var slow = TCPSenderHealth()
        slow.rttBuckets[TCPHealth.rttBucketBounds.count] = 2
        slow.rttBucketMicroseconds[TCPHealth.rttBucketBounds.count] = 5_000_000
        slow.ackSamples = 2
        #expect(slow.rttQuantile(0.5) == 2.5)
    }

    /// Round trips whose per-bucket sum would pass 32 bits before the counts reach the edge
    /// (five of 1,000 s) are moved on first: the edge holds their exact sum.
    @Test func roundTripSumsPastThirtyTwoBitsStayExact() {
        let health = TCPHealth()
        var seq: UInt32 = 1
        for i in 0..<5 {
            let t = UInt64(i) * 2_000_000_000
            health.observe(segment(host, "192.0.2.10", 40000, 443, 0x18, seq: seq, ack: 1, payload: 100, at: t), fromLocal: true, servicePort: 443)
            seq &+= 100
            health.observe(segment("192.0.2.10", host, 443, 40000, 0x10, seq: 1, ack: seq, at: t + 1_000_000_000), fromLocal: false, servicePort: 443)
        }
        let local = edge(health, "192.0.2.10", 443)!.local
        let inf = TCPHealth.rttBucketBounds.count
        #expect(local.rttBuckets[inf] == 5)
        #expect(local.rttBucketMicroseconds[inf] == 5_000_000_000)
        #expect(local.rttQuantile(0.5) == 1000)
    }

    /// A SYN offering `shift` as its window scale (none when nil).
    func syn(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, flags: UInt8, seq: UInt32, ack: UInt32 = 0,
             window: UInt16, shift: UInt8?, at micros: UInt64) -> PacketSummary {
        var p = segment(src, dst, sport, dport, flags, seq: seq, ack: ack, window: window, at: micros)
        if let shift {
            p.tcpFields |= PacketSummary.tcpWindowScaleRead
            p.tcpWindowShift = shift
        }
        return p
    }

    /// New data reaching the end of the window the receiver advertised (its ACK plus its
    /// window, scaled by the shift its SYN offered) is a stall, counted once until an ACK
    /// leaves room to send again.
    @Test func dataFillingTheScaledWindowIsAStall() {
        let health = TCPHealth()
        let peer = "192.0.2.10"
        health.observe(syn(host, peer, 40000, 443, flags: 0x02, seq: 999, window: 64240, shift: 7, at: 0), fromLocal: true, servicePort: 443)
        // A SYN's window is never scaled: the server's first 100 bytes of room; its next
        // ACK's window of 100 scaled by 2 is 400 bytes from 1000.
        health.observe(syn(peer, host, 443, 40000, flags: 0x12, seq: 4999, ack: 1000, window: 100, shift: 2, at: 10), fromLocal: false, servicePort: 443)
        health.observe(segment(peer, host, 443, 40000, 0x10, seq: 5000, ack: 1000, window: 100, at: 15), fromLocal: false, servicePort: 443)
        health.observe(segment(host, peer, 40000, 443, 0x10, seq: 1000, ack: 5000, window: 500, at: 20), fromLocal: true, servicePort: 443)
        for i in 0..<4 {
            health.observe(segment(host, peer, 40000, 443, 0x18, seq: 1000 + UInt32(i) * 100, ack: 5000, payload: 100, window: 500, at: 30 + UInt64(i)),
                           fromLocal: true, servicePort: 443)
        }
        // Half the bytes acknowledged with the same window: room to 1600, and 100 bytes
        // sent leave some; then the window ends at 1900 and 400 bytes fill it again.
        health.observe(segment(peer, host, 443, 40000, 0x10, seq: 5000, ack: 1200, window: 100, at: 100), fromLocal: false, servicePort: 443)
        health.observe(segment(host, peer, 40000, 443, 0x18, seq: 1400, ack: 5000, payload: 100, window: 500, at: 110), fromLocal: true, servicePort: 443)
        health.observe(segment(peer, host, 443, 40000, 0x10, seq: 5000, ack: 1500, window: 100, at: 200), fromLocal: false, servicePort: 443)
        health.observe(segment(host, peer, 40000, 443, 0x18, seq: 1500, ack: 5000, payload: 400, window: 500, at: 210), fromLocal: true, servicePort: 443)
        let found = edge(health, peer, 443)!
        #expect(found.local.windowFullStalls == 2)
        #expect(found.remote.windowFullStalls == 0)
        #expect(found.local.dataSegments == 6 && found.local.retransmissions == 0)
    }

    /// Without both SYNs the scale in force is unknown, so no stall is judged; with one SYN
    /// offering no scale, windows are taken as sent.
    @Test func windowFullNeedsBothSynsAndScalesOnlyWhenBothOfferIt() {
        let peer = "192.0.2.10"
        func run(serverShift: UInt8?, serverSyn: Bool) -> UInt64 {
            let health = TCPHealth()
            health.observe(syn(host, peer, 40000, 443, flags: 0x02, seq: 999, window: 64240, shift: 7, at: 0), fromLocal: true, servicePort: 443)
            if serverSyn {
                health.observe(syn(peer, host, 443, 40000, flags: 0x12, seq: 4999, ack: 1000, window: 400, shift: serverShift, at: 10),
                               fromLocal: false, servicePort: 443)
            } else {
                health.observe(segment(peer, host, 443, 40000, 0x10, seq: 5000, ack: 1000, window: 400, at: 10), fromLocal: false, servicePort: 443)
            }
            health.observe(segment(peer, host, 443, 40000, 0x10, seq: 5000, ack: 1000, window: 400, at: 15), fromLocal: false, servicePort: 443)
            health.observe(segment(host, peer, 40000, 443, 0x18, seq: 1000, ack: 5000, payload: 400, window: 500, at: 20), fromLocal: true, servicePort: 443)
            return edge(health, peer, 443)!.local.windowFullStalls
        }
        #expect(run(serverShift: nil, serverSyn: true) == 1)
        // Scaled by 4: 1,600 bytes of room, 400 sent.
        #expect(run(serverShift: 2, serverSyn: true) == 0)
        #expect(run(serverShift: nil, serverSyn: false) == 0)
    }

    /// Data right after the handshake is judged against the SYN/ACK's window as sent.
    @Test func theWindowOfASynIsNotScaled() {
        let health = TCPHealth()
        let peer = "192.0.2.10"
        health.observe(syn(host, peer, 40000, 443, flags: 0x02, seq: 999, window: 64240, shift: 7, at: 0), fromLocal: true, servicePort: 443)
        health.observe(syn(peer, host, 443, 40000, flags: 0x12, seq: 4999, ack: 1000, window: 300, shift: 5, at: 10), fromLocal: false, servicePort: 443)
        health.observe(segment(host, peer, 40000, 443, 0x18, seq: 1000, ack: 5000, payload: 300, window: 500, at: 20), fromLocal: true, servicePort: 443)
        #expect(edge(health, peer, 443)!.local.windowFullStalls == 1)
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
