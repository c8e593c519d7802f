import Foundation
import NetAddress
import PacketDecoding
import Ring
import Testing
import Traffic

@Suite struct TrafficAggregatorTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!])

    func packet(from peer: String, bytes: UInt32 = 100) -> PacketSummary {
        var p = PacketSummary()
        p.source = IPAddress(peer)!
        p.destination = IPAddress("10.0.0.5")!
        p.ipProtocol = 17
        p.sourcePort = 53
        p.destinationPort = 41000
        p.ipBytes = bytes
        p.hasPorts = true
        return p
    }

    func bytes(_ snapshot: TrafficSnapshot, from peer: String) -> UInt64 {
        zip(snapshot.keys, snapshot.counters).filter { $0.0.peer == IPAddress(peer)! }.reduce(0) { $0 + $1.1.bytes }
    }

    /// Polls `condition` every millisecond until it holds or `seconds` pass.
    func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(1000)
        }
        return condition()
    }

    @Test func onePassTakesAtMostOneBatchFromEachRing() {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local), batchSize: 16)
        let flooded = SPSCRing<PacketSummary>(minimumCapacity: 1024, wakeUp: aggregator.wakeUp)
        let quiet = SPSCRing<PacketSummary>(minimumCapacity: 1024, wakeUp: aggregator.wakeUp)
        for _ in 0..<1000 { flooded.push(packet(from: "198.51.100.1")) }
        quiet.push(packet(from: "203.0.113.9", bytes: 77))
        aggregator.attach(flooded)
        aggregator.attach(quiet)

        #expect(aggregator.drainAll() == 17)
        #expect(flooded.approximateCount == 1000 - 16, "the flooded ring gave one batch, not all it had")
        #expect(quiet.isEmpty)
        let snapshot = aggregator.snapshot()
        #expect(bytes(snapshot, from: "203.0.113.9") == 77)
        #expect(bytes(snapshot, from: "198.51.100.1") == 16 * 100)
    }

    @Test func aFloodedRingDoesNotHoldBackAnotherOnTheRunningThread() {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local), batchSize: 64)
        let flooded = SPSCRing<PacketSummary>(minimumCapacity: 4096, wakeUp: aggregator.wakeUp)
        let quiet = SPSCRing<PacketSummary>(minimumCapacity: 64, wakeUp: aggregator.wakeUp)
        aggregator.attach(flooded)
        aggregator.attach(quiet)
        aggregator.start()
        let stopFlooding = Shared(false)
        // Keeps the first ring full, as an interface under a flood would, until told to
        // stop (or 20 seconds pass).
        let flooder = Thread {
            let sample = packet(from: "198.51.100.1")
            let deadline = Date().addingTimeInterval(20)
            while !stopFlooding.value && Date() < deadline {
                for _ in 0..<256 { flooded.push(sample) }
                flooded.wakeUp?.notify()
            }
        }
        flooder.start()
        #expect(eventually { flooded.approximateCount > 1000 }, "the flood is running")
        quiet.push(packet(from: "203.0.113.9", bytes: 77))
        quiet.wakeUp?.notify()
        #expect(eventually { bytes(aggregator.snapshot(), from: "203.0.113.9") == 77 })
        stopFlooding.value = true
        aggregator.stop()
    }

    @Test func sleepsWhileRingsAreEmptyAndWakesToCount() {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local))
        let ring = SPSCRing<PacketSummary>(minimumCapacity: 64, wakeUp: aggregator.wakeUp)
        aggregator.attach(ring)
        aggregator.start()
        defer { aggregator.stop() }
        #expect(eventually { aggregator.wakeUp.sleepCount >= 1 }, "nothing to do: the aggregator sleeps")
        let sleeps = aggregator.wakeUp.sleepCount
        for round in 1...3 {
            ring.push(packet(from: "203.0.113.9", bytes: 10))
            ring.wakeUp?.notify()
            #expect(eventually { bytes(aggregator.snapshot(), from: "203.0.113.9") == UInt64(10 * round) })
            #expect(eventually { aggregator.wakeUp.sleepCount >= sleeps + UInt64(round) }, "and sleeps again")
        }
    }

    @Test func stopWakesASleepingAggregatorAndDrainsWhatIsLeft() {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local))
        let ring = SPSCRing<PacketSummary>(minimumCapacity: 64, wakeUp: aggregator.wakeUp)
        aggregator.attach(ring)
        aggregator.start()
        #expect(eventually { aggregator.wakeUp.sleepCount >= 1 })
        ring.push(packet(from: "203.0.113.9", bytes: 5))  // no notify: stop must still count it
        aggregator.stop()
        #expect(bytes(aggregator.snapshot(), from: "203.0.113.9") == 5)
    }

    @Test func aProducerCountsItsOwnRingWhenTheLockIsFreeAndWakesTheAggregatorWhenNot() {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local),
                                           maxDNSNames: 16)
        let ring = SPSCRing<PacketSummary>(minimumCapacity: 4096, wakeUp: aggregator.wakeUp)
        let dns = SPSCRing<DNSAnswers>(minimumCapacity: 8, wakeUp: aggregator.wakeUp)
        aggregator.attach(ring)
        aggregator.attach(dns: dns)
        for _ in 0..<3000 { ring.push(packet(from: "198.51.100.1", bytes: 10)) }
        dns.push(dnsAnswers("db.example", ["198.51.100.1"]))

        // Someone else holds the lock (here: this thread, as a scrape would): nothing
        // is taken, nothing waits, and the producer is told to wake the aggregator.
        let whileHeld = aggregator.withAccounting { _ in aggregator.drainIfFree(ring, dns: dns) }
        #expect(!whileHeld)
        #expect(ring.approximateCount == 3000 && !dns.isEmpty)

        #expect(aggregator.drainIfFree(ring, dns: dns), "all of the ring, more than one batch")
        #expect(ring.isEmpty && dns.isEmpty)
        let snapshot = aggregator.snapshot()
        #expect(bytes(snapshot, from: "198.51.100.1") == 30_000)
        #expect(snapshot.dnsNames.name(for: IPAddress("198.51.100.1")!) == "db.example")
        #expect(aggregator.drainAll() == 0, "the aggregator thread finds nothing left")
    }

    @Test func tellsOnceAboutTheHostSendingFromAnUnknownLocalEndpoint() {
        let accounting = TrafficAccounting(maxSeries: 100, localAddresses: local,
                                           endpoints: EndpointOwners(sockets: []))
        let aggregator = TrafficAggregator(accounting: accounting)
        let ring = SPSCRing<PacketSummary>(minimumCapacity: 64, wakeUp: aggregator.wakeUp)
        aggregator.attach(ring)
        let told = Shared(0)
        aggregator.notifyOnUnknownEndpoint { told.value += 1 }
        #expect(aggregator.drainAll() == 0)
        #expect(told.value == 0)
        ring.push(packet(from: "203.0.113.9"))
        aggregator.drainAll()
        #expect(told.value == 0, "packets that only arrive at the endpoint (a scan, a flood) are held, and tell nothing")
        func sent(to peer: String) -> PacketSummary {
            var reply = packet(from: peer)
            swap(&reply.source, &reply.destination)
            swap(&reply.sourcePort, &reply.destinationPort)
            return reply
        }
        ring.push(sent(to: "203.0.113.9"))
        ring.push(sent(to: "203.0.113.10"))
        aggregator.drainAll()
        ring.push(sent(to: "203.0.113.11"))
        aggregator.drainAll()
        #expect(told.value == 1, "once per registration")
        #expect(aggregator.withAccounting { $0.pendingBytes } == 400)
    }

    @Test func namesItsThread() throws {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local))
        aggregator.start()
        defer { aggregator.stop() }
        #expect(eventually { Self.threadNames().contains("pe-aggregator") })
    }

    /// The names of this process's threads, as top -H and ps -L show them.
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .newlines) }
    }
}

/// A value shared with another thread in a test.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); defer { lock.unlock() }; stored = newValue }
    }
}
