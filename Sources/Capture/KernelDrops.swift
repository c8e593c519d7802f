import Synchronization

/// The kernel's drop counts of one capture handle as a 64-bit total.
///
/// libpcap reports drops as two 32-bit running counts (kernel buffer, interface) that
/// wrap at 2^32; adding them and widening the sum wraps too, so a busy interface's
/// counter would fall back to near zero after four billion drops. Each reading adds
/// the difference from the previous one, taken modulo 2^32, to a 64-bit total: exact as
/// long as fewer than 2^32 drops happen between two readings.
public struct KernelDropTotals: Sendable, Equatable {
    /// Drops since the handle was opened.
    public private(set) var total: UInt64 = 0
    private var lastDropped: UInt32 = 0
    private var lastInterfaceDropped: UInt32 = 0

    /// Totals of a handle whose counts start at zero, as libpcap's do when it is activated.
    public init() {}

    /// Adds a reading of the two running counts; returns the new total.
    @discardableResult
    public mutating func add(dropped: UInt32, interfaceDropped: UInt32) -> UInt64 {
        total &+= UInt64(dropped &- lastDropped) &+ UInt64(interfaceDropped &- lastInterfaceDropped)
        lastDropped = dropped
        lastInterfaceDropped = interfaceDropped
        return total
    }
}

/// Reads a live handle's drop counts into its 64-bit total, from any thread: the scrape
/// reads it, and the capture thread now and then so no wrap goes unseen.
final class KernelDropReader: Sendable {
    /// How often the capture thread reads the counts while packets flow; even at the
    /// 14.9 million frames a second of a saturated 10 Gb/s link, 2^32 takes 4.8 minutes.
    static let readEvery: Duration = .seconds(10)
    private let totals = Mutex(KernelDropTotals())

    /// The total after reading the counts now (the last total if libpcap cannot tell).
    func read(_ handle: PcapHandle) -> UInt64 {
        totals.withLock { totals in
            guard let stats = handle.statistics() else { return totals.total }
            return totals.add(dropped: stats.dropped, interfaceDropped: stats.interfaceDropped)
        }
    }
}
