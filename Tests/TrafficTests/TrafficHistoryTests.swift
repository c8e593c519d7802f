import NetAddress
import PacketDecoding
import Testing
@testable import Traffic

@Suite struct TrafficHistoryTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!], networks: [])

    /// A UDP packet to or from 10.0.0.5 and `peer` on port 53, `bytes` long.
    func packet(_ peer: String, egress: Bool, bytes: UInt32) -> PacketSummary {
        var p = PacketSummary()
        p.source = IPAddress(egress ? "10.0.0.5" : peer)!
        p.destination = IPAddress(egress ? peer : "10.0.0.5")!
        p.ipProtocol = 17
        p.sourcePort = egress ? 40000 : 53
        p.destinationPort = egress ? 53 : 40000
        p.ipBytes = bytes
        p.hasPorts = true
        return p
    }

    func aggregator() -> TrafficAggregator {
        TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local))
    }

    func send(_ aggregator: TrafficAggregator, _ peer: String, egress: Bool, bytes: UInt32) {
        aggregator.withAccounting { $0.count(packet(peer, egress: egress, bytes: bytes)) }
    }

    func key(_ peer: String, egress: Bool) -> TrafficKey {
        TrafficKey(peer: IPAddress(peer)!, direction: egress ? .egress : .ingress, ipProtocol: 17, port: 53)
    }

    @Test func secondsFillTheirBucketsAndLongerRangesAddThemUp() {
        let traffic = aggregator()
        let history = TrafficHistory()
        #expect(history.buckets(.minute).isEmpty)
        send(traffic, "192.0.2.1", egress: false, bytes: 100)
        send(traffic, "192.0.2.1", egress: true, bytes: 50)
        traffic.recordHistory(history, at: 1_000_000.5)
        send(traffic, "192.0.2.1", egress: false, bytes: 200)
        traffic.recordHistory(history, at: 1_000_001.5)
        // No sample in second 1_000_002: its bucket stays empty.
        send(traffic, "192.0.2.2", egress: true, bytes: 200)
        traffic.recordHistory(history, at: 1_000_003.5)

        let minute = history.buckets(.minute)
        #expect(minute.count == 60)
        #expect(minute.last!.start == 1_000_003)
        #expect(minute.first!.start == 1_000_003 - 59)
        #expect(Array(minute.suffix(4)) == [
            HistoryBucket(start: 1_000_000, ingressBytes: 100, egressBytes: 50),
            HistoryBucket(start: 1_000_001, ingressBytes: 200, egressBytes: 0),
            HistoryBucket(start: 1_000_002, ingressBytes: 0, egressBytes: 0),
            HistoryBucket(start: 1_000_003, ingressBytes: 0, egressBytes: 200),
        ])
        #expect(minute.dropLast(4).allSatisfy { $0.ingressBytes == 0 && $0.egressBytes == 0 })
        // 1_000_000 = 16_666 minutes and 40 s: all four samples are in one minute, hour and day.
        #expect(history.buckets(.hour).last == HistoryBucket(start: 16_666 * 60, ingressBytes: 300, egressBytes: 250))
        #expect(history.buckets(.hour).count == 60)
        #expect(history.buckets(.day).last == HistoryBucket(start: 277 * 3600, ingressBytes: 300, egressBytes: 250))
        #expect(history.buckets(.day).count == 24)
        #expect(history.buckets(.month).last == HistoryBucket(start: 11 * 86400, ingressBytes: 300, egressBytes: 250))
        #expect(history.buckets(.month).count == 31)
    }

    @Test func bucketsRollOverAndAClockSetBackAddsToTheNewest() {
        let traffic = aggregator()
        let history = TrafficHistory()
        for second in 0..<130 {
            send(traffic, "192.0.2.1", egress: false, bytes: 10)
            traffic.recordHistory(history, at: 600 + Double(second) + 0.5)
        }
        let minute = history.buckets(.minute)
        #expect(minute.first!.start == 670 && minute.last!.start == 729)
        #expect(minute.allSatisfy { $0.ingressBytes == 10 })
        #expect(history.buckets(.hour).suffix(3).map(\.ingressBytes) == [600, 600, 100])
        send(traffic, "192.0.2.1", egress: false, bytes: 7)
        traffic.recordHistory(history, at: 100.5)
        #expect(history.buckets(.minute).last == HistoryBucket(start: 729, ingressBytes: 17, egressBytes: 0))
        // A jump forward by more than a range empties it.
        traffic.recordHistory(history, at: 5000.5)
        #expect(history.buckets(.minute).allSatisfy { $0.ingressBytes == 0 })
        #expect(history.buckets(.minute).last!.start == 5000)
    }

    @Test func ratesAreBytesPerSecondOverThePreviousAndCurrentWindow() {
        let traffic = aggregator()
        let history = TrafficHistory()
        send(traffic, "192.0.2.1", egress: false, bytes: 1600)  // before the first sweep: not in any window
        traffic.recordHistory(history, at: 100)
        send(traffic, "192.0.2.1", egress: false, bytes: 3200)
        send(traffic, "192.0.2.2", egress: true, bytes: 800)
        for second in 1...9 { traffic.recordHistory(history, at: 100 + Double(second)) }
        traffic.recordHistory(history, at: 110)  // the window of 100...110 closes
        send(traffic, "192.0.2.1", egress: false, bytes: 1600)
        let activity = traffic.activity(history: history, at: 115)
        #expect(activity.rateWindowSeconds == 15)
        let rates = Dictionary(uniqueKeysWithValues: zip(activity.snapshot.keys, activity.rates))
        #expect(rates[key("192.0.2.1", egress: false)] == Double(3200 + 1600) / 15)
        #expect(rates[key("192.0.2.2", egress: true)] == 800.0 / 15)
        #expect(activity.ingressRate == Double(3200 + 1600) / 15)
        #expect(activity.egressRate == 800.0 / 15)

        // The next window drops 100...110.
        traffic.recordHistory(history, at: 120)
        let later = traffic.activity(history: history, at: 125)
        let laterRates = Dictionary(uniqueKeysWithValues: zip(later.snapshot.keys, later.rates))
        #expect(laterRates[key("192.0.2.1", egress: false)] == 1600.0 / 15)
        #expect(laterRates[key("192.0.2.2", egress: true)] == 0)
    }

    @Test func lastSeenIsTheFirstSampleAfterTheSeriesLastPacket() {
        let traffic = aggregator()
        let history = TrafficHistory()
        send(traffic, "192.0.2.1", egress: false, bytes: 100)
        traffic.recordHistory(history, at: 1000.5)
        send(traffic, "192.0.2.2", egress: false, bytes: 100)
        traffic.recordHistory(history, at: 1001.5)
        traffic.recordHistory(history, at: 1002.5)
        send(traffic, "192.0.2.3", egress: false, bytes: 100)
        let activity = traffic.activity(history: history, at: 1003.2)
        let seen = Dictionary(uniqueKeysWithValues: activity.snapshot.keys.indices.map {
            (activity.snapshot.keys[$0].peer.description, activity.lastSeen(tick: activity.lastActive[$0]))
        })
        #expect(seen == ["192.0.2.1": 1000.5, "192.0.2.2": 1001.5, "192.0.2.3": 1003.2])
    }

    @Test func historyCostsEightBytesPerSeriesAndAFixedFewKilobytes() {
        #expect(TrafficHistory.bytesPerSeries == 8)
        // The rate mark is 8 of the entry's 64 bytes, one cache line.
        #expect(MemoryLayout<TrafficTable.Entry>.stride == 64)
        #expect(TrafficHistory.memoryFootprint < 8 * 1024)
    }

    @Test func totalsPerDirectionIncludeEvictedSeriesAndHeldBytes() {
        let accounting = TrafficAccounting(maxSeries: 2, localAddresses: local)
        for peer in 1...5 { accounting.enqueue(packet("192.0.2.\(peer)", egress: peer % 2 == 0, bytes: 100)) }
        accounting.flush()
        #expect(accounting.table.evictedSeries > 0)
        #expect(accounting.ingressBytes == 300 && accounting.egressBytes == 200)
    }
}
