import Capture
import Testing

@Suite struct KernelDropTotalsTests {
    @Test func followsTheCountsAcrossTheKernelsWrap() {
        var totals = KernelDropTotals()
        #expect(totals.add(dropped: 0, interfaceDropped: 0) == 0)
        #expect(totals.add(dropped: 4_000_000_000, interfaceDropped: 10) == 4_000_000_010)
        // One billion more kernel drops: libpcap's 32-bit running count wraps to 705,032,704.
        let wrapped = UInt32(truncatingIfNeeded: UInt64(4_000_000_000) + 1_000_000_000)
        #expect(wrapped == 705_032_704)
        #expect(totals.add(dropped: wrapped, interfaceDropped: 10) == 5_000_000_010)
        // Both counts wrapping between two readings: 4e9 more kernel drops, 2^32 - 20 more interface drops.
        #expect(totals.add(dropped: wrapped &+ 4_000_000_000, interfaceDropped: 10 &- 20)
                == 5_000_000_010 + 4_000_000_000 + (UInt64(1) << 32) - 20)
        #expect(totals.total > UInt64(UInt32.max) * 2)
    }

    @Test func theSumOfTheTwoCountsNeverWrapsEither() {
        // Two counts near 2^31 each: their 32-bit sum wraps, the total does not.
        var totals = KernelDropTotals()
        let total = totals.add(dropped: 3_000_000_000, interfaceDropped: 2_000_000_000)
        #expect(total == 5_000_000_000)
        #expect(total != UInt64(UInt32(3_000_000_000) &+ UInt32(2_000_000_000)), "what adding before widening gave")
    }

    @Test func unchangedCountsAddNothing() {
        var totals = KernelDropTotals()
        totals.add(dropped: 7, interfaceDropped: 1)
        #expect(totals.add(dropped: 7, interfaceDropped: 1) == 8)
        #expect(totals.add(dropped: 7, interfaceDropped: 1) == 8)
    }
}
