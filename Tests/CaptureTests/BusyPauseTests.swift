@testable import Capture
import Testing

/// The pause of a capture thread that caught up with a busy interface, driven by a
/// simulated interface that fills the ring at a given rate while the thread pauses.
struct BusyPauseTests {
    static let ring = 4 << 20

    /// Pauses `pauses` times at `bytesPerMillisecond`, reading after each pause what came in
    /// during it; returns the pauses taken and the most any one let into the ring.
    static func run(_ pause: inout BusyPause, bytesPerMillisecond: [UInt64], read: inout UInt64) -> (pauses: [UInt64], largestFill: UInt64) {
        var pauses: [UInt64] = []
        var largest: UInt64 = 0
        for rate in bytesPerMillisecond {
            let microseconds = UInt64(pause.next(read: read))
            pauses.append(microseconds)
            let arrived = rate * microseconds / 1_000
            largest = max(largest, arrived)
            read += arrived
        }
        return (pauses, largest)
    }

    @Test func aSteadyRateSettlesOnAQuarterOfTheRingPerPause() {
        var pause = BusyPause(ringBytes: Self.ring)
        var read: UInt64 = 0
        // 400,000 minimum-size frames a second, 154 ring bytes each: 62 MB/s.
        let rate: UInt64 = 400 * 154
        let (pauses, _) = Self.run(&pause, bytesPerMillisecond: Array(repeating: rate, count: 12), read: &read)
        #expect(pauses.first == BusyPause.firstMicroseconds)
        // Up by at most twice each time, then steady at what a quarter of the ring takes.
        for (earlier, later) in zip(pauses, pauses.dropFirst()) { #expect(later <= earlier * 2) }
        let quarter = UInt64(Self.ring / 4) * 1_000 / rate
        #expect(pauses.last! >= quarter - 1 && pauses.last! <= quarter + 1, "\(pauses)")
    }

    @Test func aRateThatTriplesDuringAPauseStillFitsTheRing() {
        var pause = BusyPause(ringBytes: Self.ring)
        var read: UInt64 = 0
        // 400,000 minimum-size frames a second: a quarter of the ring in about 17 ms.
        let rate: UInt64 = 400 * 154
        _ = Self.run(&pause, bytesPerMillisecond: Array(repeating: rate, count: 12), read: &read)
        let (pauses, largest) = Self.run(&pause, bytesPerMillisecond: [rate * 3, rate * 3, rate * 3], read: &read)
        #expect(largest <= UInt64(Self.ring), "\(pauses)")
        // The pause after the jump is a third of the one before.
        #expect(pauses[1] * 3 <= pauses[0] + 3, "\(pauses)")
    }

    @Test func pausesStayWithinTheirBounds() {
        var pause = BusyPause(ringBytes: Self.ring)
        var read: UInt64 = 0
        // A trickle would ask for seconds, line rate for microseconds.
        let (slow, _) = Self.run(&pause, bytesPerMillisecond: Array(repeating: 10, count: 12), read: &read)
        #expect(slow.last == pause.longest)
        #expect(pause.longest > 18_000 && pause.longest < 19_000, "\(pause.longest) µs for 4 MiB")
        let (fast, _) = Self.run(&pause, bytesPerMillisecond: Array(repeating: 1 << 30, count: 3), read: &read)
        #expect(fast.last == BusyPause.shortestMicroseconds)
        // Then nothing read after a pause: the next is twice as long.
        #expect(pause.next(read: read) == UInt32(BusyPause.shortestMicroseconds))
        #expect(pause.next(read: read) == UInt32(2 * BusyPause.shortestMicroseconds))
    }

    /// After a quiet spell the pause is at its longest; a burst at the rate the ring is
    /// sized for, arriving then, fills three quarters of it at most, whatever its size.
    @Test func theLongestPauseLeavesRoomForABurst() {
        for ring in [1 << 20, 4 << 20, 64 << 20] {
            var pause = BusyPause(ringBytes: ring)
            var read: UInt64 = 0
            _ = Self.run(&pause, bytesPerMillisecond: Array(repeating: 10, count: 12), read: &read)
            let (pauses, largest) = Self.run(&pause, bytesPerMillisecond: [BusyPause.burstBytesPerSecond / 1_000], read: &read)
            #expect(pauses == [pause.longest])
            #expect(largest <= UInt64(ring) / 4 * 3, "\(ring): \(largest) bytes in \(pauses) µs")
        }
        #expect(BusyPause(ringBytes: 64 << 20).longest == BusyPause.longestMicroseconds)
        #expect(BusyPause(ringBytes: 64 << 10).longest == BusyPause.shortestMicroseconds)
    }

    @Test func aFileOrAnUnknownRingKeepsTheFirstPause() {
        var pause = BusyPause(ringBytes: 0)
        #expect(pause.next(read: 0) == UInt32(BusyPause.firstMicroseconds))
        #expect(pause.next(read: 1 << 40) == UInt32(BusyPause.firstMicroseconds))
    }

    @Test func aFrameTakesItsCapturedBytesAndItsHeaderInTheRing() {
        // 1,000 frames of 64 bytes: about 154 ring bytes each in a TPACKET_V3 block.
        #expect(BusyPause.ringBytes(frames: 1_000, capturedBytes: 64_000) == 1_000 * (64 + BusyPause.frameOverhead))
    }
}
