import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

@testable import Ring

/// Runs `body` on a new thread; the returned semaphore is signalled when it returns.
private func startThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    return done
}

/// Results a thread hands back; read only after its semaphore was waited on.
private final class Results: @unchecked Sendable {
    var received = 0
    var outOfOrder = 0
    var last = -1
    var timedOut = false
}

/// Every spin loop in these tests gives up after this long, so a bug fails the test
/// instead of hanging it.
private let deadline: TimeInterval = 60

/// True once `deadline` has passed since `start`; looks at the clock only every 1024th
/// call so the check does not dominate the loop.
private func pastDeadline(_ start: Date, _ spins: inout Int) -> Bool {
    spins &+= 1
    return spins & 1023 == 0 && Date().timeIntervalSince(start) > deadline
}

@Suite struct SPSCRingTests {
    @Test func capacityRoundsUpToAPowerOfTwo() {
        #expect(SPSCRing<Int>(minimumCapacity: 1).capacity == 1)
        #expect(SPSCRing<Int>(minimumCapacity: 5).capacity == 8)
        #expect(SPSCRing<Int>(minimumCapacity: 1024).capacity == 1024)
    }

    @Test func fillsDropsAndEmptiesInOrder() {
        let ring = SPSCRing<UInt32>(minimumCapacity: 4)
        #expect(ring.pop() == nil)
        for value in UInt32(0)..<4 { #expect(ring.tryPush(value)) }
        #expect(!ring.tryPush(99))
        #expect(ring.droppedCount == 0)
        #expect(!ring.push(100))
        #expect(!ring.push(101))
        #expect(ring.droppedCount == 2)
        #expect(ring.approximateCount == 4)
        #expect(ring.pop() == 0)
        #expect(ring.push(4))
        var drained = [UInt32]()
        #expect(ring.drain(max: 3) { drained.append($0) } == 3)
        #expect(drained == [1, 2, 3])
        #expect(ring.drain(max: 10) { drained.append($0) } == 1)
        #expect(drained == [1, 2, 3, 4])
        #expect(ring.drain(max: 10) { _ in Issue.record("drained from an empty ring") } == 0)
        #expect(ring.pop() == nil)
        #expect(ring.droppedCount == 2)
    }

    /// An element written in the reserved slot is pushed only when published; a slot left
    /// unpublished is reserved again, and a full ring reserves none.
    @Test func reservedSlotsArePushedOnlyWhenPublished() {
        let ring = SPSCRing<UInt32>(minimumCapacity: 2)
        let unpublished = ring.reserve()
        unpublished?.pointee = 7
        #expect(ring.pop() == nil)
        let slot = ring.reserve()
        #expect(slot == unpublished)
        slot?.pointee = 1
        ring.publish()
        ring.reserve()?.pointee = 2
        ring.publish()
        #expect(ring.reserve() == nil)
        ring.countDrop()
        #expect(ring.droppedCount == 1)
        #expect(ring.pop() == 1)
        ring.reserve()?.pointee = 3
        ring.publish()
        var drained = [UInt32]()
        #expect(ring.drain(max: 10) { drained.append($0) } == 2)
        #expect(drained == [2, 3])
    }

    @Test func wrapsAroundManyTimes() {
        let ring = SPSCRing<Int>(minimumCapacity: 8)
        var next = 0
        var expected = 0
        for round in 0..<10_000 {
            for _ in 0..<(round % 8 + 1) {
                #expect(ring.tryPush(next))
                next += 1
            }
            _ = ring.drain(max: round % 5 + 1) { value in
                if value != expected { Issue.record("got \(value), expected \(expected)") }
                expected += 1
            }
            while let value = ring.pop() {
                if value != expected { Issue.record("got \(value), expected \(expected)") }
                expected += 1
            }
        }
        #expect(expected == next)
    }

    /// Two threads, a small ring, half a million elements: every element arrives once
    /// and in order when the producer waits instead of dropping.
    @Test func twoThreadsKeepOrderAndLoseNothing() {
        let ring = SPSCRing<Int>(minimumCapacity: 64)
        let total = 500_000
        let results = Results()
        let start = Date()
        let consumer = startThread {
            var spins = 0
            while results.received < total {
                if pastDeadline(start, &spins) { results.timedOut = true; return }
                let taken = ring.drain(max: 32) { value in
                    if value != results.last + 1 { results.outOfOrder += 1 }
                    results.last = value
                }
                if taken == 0, let value = ring.pop() {
                    if value != results.last + 1 { results.outOfOrder += 1 }
                    results.last = value
                    results.received += 1
                } else if taken == 0 {
                    sched_yield()
                }
                results.received += taken
            }
        }
        let producerTimedOut = Results()
        let producer = startThread {
            var value = 0
            var spins = 0
            while value < total {
                if ring.tryPush(value) {
                    value += 1
                } else if pastDeadline(start, &spins) {
                    producerTimedOut.timedOut = true
                    return
                } else {
                    sched_yield()
                }
            }
        }
        producer.wait()
        consumer.wait()
        #expect(!results.timedOut && !producerTimedOut.timedOut)
        #expect(results.received == total)
        #expect(results.last == total - 1)
        #expect(results.outOfOrder == 0)
        #expect(ring.droppedCount == 0)
    }

    /// With the consumer stalled, `push` keeps the first `capacity` elements and counts
    /// every later one as dropped.
    @Test func dropCountIsExactWhileTheConsumerIsStalled() {
        let ring = SPSCRing<UInt64>(minimumCapacity: 1000)
        let offered = 5000
        let producer = startThread {
            for value in 0..<offered { ring.push(UInt64(value)) }
        }
        producer.wait()
        #expect(ring.capacity == 1024)
        #expect(ring.droppedCount == UInt64(offered - 1024))
        let results = Results()
        let consumer = startThread {
            var expected: UInt64 = 0
            while let value = ring.pop() {
                if value != expected { results.outOfOrder += 1 }
                expected += 1
                results.received += 1
            }
        }
        consumer.wait()
        #expect(results.received == 1024 && results.outOfOrder == 0)
    }

    /// Under load with drops: what arrives is in order, and arrivals plus drops account
    /// for every element offered.
    @Test func twoThreadsWithDropsAccountForEverything() {
        let ring = SPSCRing<Int>(minimumCapacity: 16)
        let total = 300_000
        let results = Results()
        let start = Date()
        let consumer = startThread {
            var idle = 0
            var spins = 0
            // Stop once the producer finished and the ring stayed empty after that.
            while true {
                if pastDeadline(start, &spins) { results.timedOut = true; return }
                let taken = ring.drain(max: 8) { value in
                    if value <= results.last { results.outOfOrder += 1 }
                    results.last = value
                }
                results.received += taken
                if taken == 0 {
                    sched_yield()
                    idle += 1
                    if idle > 1000, ring.droppedCount + UInt64(results.received) == UInt64(total) { return }
                } else {
                    idle = 0
                }
            }
        }
        let producer = startThread {
            for value in 0..<total { ring.push(value) }
        }
        producer.wait()
        consumer.wait()
        #expect(!results.timedOut)
        #expect(results.outOfOrder == 0)
        #expect(UInt64(results.received) + ring.droppedCount == UInt64(total))
    }
}
