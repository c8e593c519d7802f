import Foundation
import NetAddress
import PacketDecoding
import Ring
import Synchronization

/// A consistent copy of the traffic table and its counters, taken for one scrape.
public struct TrafficSnapshot: Sendable {
    public var keys: [TrafficKey] = []
    public var counters: [TrafficCounters] = []
    public var unattributedBytes: [UInt64] = [UInt64](repeating: 0, count: UnattributedReason.allCases.count)
    public var evictedSeries: UInt64 = 0
    /// Bytes of the evicted series.
    public var evictedBytes: UInt64 = 0
    /// Bytes held until the next socket-table reading names their process.
    public var heldBytes: UInt64 = 0
    /// Process names that got no id because the registry was full of names in use.
    public var processNamesRefused: UInt64 = 0
    public var processAttributedBytes: UInt64 = 0
    public var processUnattributedBytes: UInt64 = 0
    /// Process names by id, as TrafficKey.process refers to them.
    public var processNames: [String] = [""]

    public init() {}

    /// A copy of what `accounting` holds now; the caller holds the aggregator's lock.
    init(copying accounting: TrafficAccounting) {
        accounting.table.copy(keys: &keys, counters: &counters)
        unattributedBytes = accounting.unattributedBytes
        evictedSeries = accounting.table.evictedSeries
        evictedBytes = accounting.table.evictedBytes
        heldBytes = accounting.pendingBytes
        processNamesRefused = accounting.processRegistry.refused
        processAttributedBytes = accounting.processAttributedBytes
        processUnattributedBytes = accounting.processUnattributedBytes
        processNames = accounting.processRegistry.names
    }

    public var seriesCount: Int { keys.count }

    /// The name of a series' process ("" when unknown).
    public func processName(_ id: UInt32) -> String {
        Int(id) < processNames.count ? processNames[Int(id)] : ""
    }
}

/// Owns the traffic accounting and drains the capture rings into it on one thread.
///
/// Capture threads only push into their rings; this thread takes the lock once per
/// batch, so a scrape waits at most for one batch and copies the table in one go.
public final class TrafficAggregator: @unchecked Sendable {
    private let accounting: TrafficAccounting
    private let lock = Mutex(())
    private let rings = Mutex<[SPSCRing<PacketSummary>]>([])
    private let running = Atomic<Bool>(false)
    private var thread: Thread?
    private let stopped = DispatchSemaphore(value: 0)
    /// Most packets taken from one ring per lock hold.
    public let batchSize: Int

    public init(accounting: TrafficAccounting, batchSize: Int = 4096) {
        self.accounting = accounting
        self.batchSize = batchSize
    }

    /// Adds a ring to drain (one per capture source).
    public func attach(_ ring: SPSCRing<PacketSummary>) {
        rings.withLock { $0.append(ring) }
    }

    /// Detaches a ring after draining what is left in it.
    public func detach(_ ring: SPSCRing<PacketSummary>) {
        drain(ring)
        rings.withLock { $0.removeAll { $0 === ring } }
    }

    /// Runs `body` with the accounting under the lock (configuration changes, tests).
    public func withAccounting<R>(_ body: (TrafficAccounting) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(accounting) }
    }

    /// Drains one ring completely into the table.
    @discardableResult
    public func drain(_ ring: SPSCRing<PacketSummary>) -> Int {
        var total = 0
        while true {
            let n = lock.withLock { _ in
                let drained = ring.drain(max: batchSize) { accounting.enqueue($0) }
                accounting.flush()
                return drained
            }
            total += n
            if n < batchSize { return total }
        }
    }

    /// Drains every attached ring once; returns how many packets were counted.
    @discardableResult
    public func drainAll() -> Int {
        let current = rings.withLock { $0 }
        var total = 0
        for ring in current { total += drain(ring) }
        return total
    }

    /// Starts the draining thread; it sleeps briefly whenever every ring is empty.
    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            while running.load(ordering: .acquiring) {
                if drainAll() == 0 { usleep(500) }
            }
            drainAll()
            stopped.signal()
        }
        thread.name = "traffic-aggregator"
        self.thread = thread
        thread.start()
    }

    /// Stops the draining thread after a final drain.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        stopped.wait()
    }

    /// A consistent copy of everything counted so far.
    public func snapshot() -> TrafficSnapshot {
        lock.withLock { _ in TrafficSnapshot(copying: accounting) }
    }
}
