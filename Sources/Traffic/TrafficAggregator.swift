import Diagnostics
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
    /// Most series the table holds (-capture-max-series); past it the least recently active are evicted.
    public var seriesLimit = 0
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
    /// Process units by id, beside `processNames`.
    public var processUnits: [String] = [""]
    /// The names the host asked DNS for, by answered address.
    public var dnsNames = DNSNameSnapshot()
    /// TCP connection health per dependency edge.
    public var tcpHealth = TCPHealthSnapshot()
    /// Local UDP ports the counting rules learned are servers (more than one peer sent to
    /// their unconnected socket), sorted.
    public var udpServerPorts: [UInt16] = []

    public init() {}

    /// A copy of what `accounting` holds now; the caller holds the aggregator's lock.
    init(copying accounting: TrafficAccounting) {
        accounting.table.copy(keys: &keys, counters: &counters)
        unattributedBytes = accounting.unattributedBytes
        evictedSeries = accounting.table.evictedSeries
        seriesLimit = accounting.table.maxSeries
        evictedBytes = accounting.table.evictedBytes
        heldBytes = accounting.pendingBytes
        processNamesRefused = accounting.processRegistry.refused
        processAttributedBytes = accounting.processAttributedBytes
        processUnattributedBytes = accounting.processUnattributedBytes
        processNames = accounting.processRegistry.names
        processUnits = accounting.processRegistry.units
        tcpHealth = accounting.tcpHealth.snapshot()
        udpServerPorts = accounting.learnedServers.udpServerPorts
    }

    public var seriesCount: Int { keys.count }

    /// The name of a series' process ("" when unknown).
    public func processName(_ id: UInt32) -> String {
        Int(id) < processNames.count ? processNames[Int(id)] : ""
    }

    /// The unit of a series' process ("" when none is known).
    public func processUnit(_ id: UInt32) -> String {
        Int(id) < processUnits.count ? processUnits[Int(id)] : ""
    }
}

/// Owns the traffic accounting and drains the capture rings into it on one thread.
///
/// Capture threads push into their rings and, after each batch, count it themselves
/// when the lock is free (`drainIfFree`); otherwise they ring `wakeUp`, and this thread
/// takes at most one batch from each ring per pass, under the lock, so a scrape waits
/// at most for one batch, a busy ring cannot starve the others, and the table is copied
/// in one go. While every ring is empty the thread sleeps until a capture thread wakes
/// it: an idle agent costs no wake-ups.
/// `@unchecked Sendable`: the accounting is touched only under its lock, and each ring
/// has one producer (its capture thread) and one consumer (whoever holds the lock).
public final class TrafficAggregator: @unchecked Sendable {
    private let accounting: TrafficAccounting
    private let lock = Mutex(())
    private let rings = Mutex<[SPSCRing<PacketSummary>]>([])
    private let dnsRings = Mutex<[SPSCRing<DNSAnswers>]>([])
    /// Used under `lock` only.
    var dnsNameTable: DNSNameTable
    private let running = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// Rung by the rings' producers after they push; see `WakeUp`.
    public let wakeUp = WakeUp()
    /// Most packets taken from one ring per pass (and per lock hold).
    public let batchSize: Int
    /// Called once, on the thread that counted them, when packets show the host sending from
    /// a local endpoint the socket table does not know; see `notifyOnUnknownEndpoint`.
    private let unknownEndpointWatch = Mutex<(seen: UInt64, body: @Sendable () -> Void)?>(nil)

    /// An aggregator counting into `accounting` that keeps at most `maxDNSNames` addresses'
    /// DNS names.
    /// `captureClock`, for a live capture, is the time TCP handshakes are timed out against
    /// at each snapshot (microseconds since 1970; see `TCPHealth.clock`).
    public init(accounting: TrafficAccounting, batchSize: Int = 4096, maxDNSNames: Int = 0,
                captureClock: (@Sendable () -> UInt64)? = nil) {
        self.accounting = accounting
        self.batchSize = batchSize
        self.dnsNameTable = DNSNameTable(capacity: maxDNSNames)
        accounting.tcpHealth.clock = captureClock
    }

    /// Adds a ring of DNS answers to drain (one per capture source), made with `wakeUp`.
    public func attach(dns ring: SPSCRing<DNSAnswers>) {
        precondition(ring.wakeUp === wakeUp, "a ring attached to an aggregator must be made with its wakeUp")
        dnsRings.withLock { $0.append(ring) }
        wakeUp.notify()
    }

    /// Detaches a ring of DNS answers after draining it; its producer must have stopped.
    public func detach(dns ring: SPSCRing<DNSAnswers>) {
        drainNames(ring)
        dnsRings.withLock { $0.removeAll { $0 === ring } }
    }

    /// Records every answer waiting in `ring` (at most its capacity); returns how many.
    @discardableResult
    private func drainNames(_ ring: SPSCRing<DNSAnswers>) -> Int {
        lock.withLock { _ in recordNames(ring) }
    }

    /// What `drainNames` does, for a caller holding the lock.
    private func recordNames(_ ring: SPSCRing<DNSAnswers>) -> Int {
        ring.drain(max: ring.capacity) { dnsNameTable.record($0) }
    }

    /// Adds a ring to drain (one per capture source). The ring must have been made with
    /// this aggregator's `wakeUp`, which its producer rings after pushing.
    public func attach(_ ring: SPSCRing<PacketSummary>) {
        precondition(ring.wakeUp === wakeUp, "a ring attached to an aggregator must be made with its wakeUp")
        rings.withLock { $0.append(ring) }
        wakeUp.notify()
    }

    /// Detaches a ring after draining what is left in it; its producer must have stopped.
    public func detach(_ ring: SPSCRing<PacketSummary>) {
        drain(ring)
        rings.withLock { $0.removeAll { $0 === ring } }
    }

    /// Runs `body` with the accounting under the lock (configuration changes, tests).
    public func withAccounting<R>(_ body: (TrafficAccounting) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(accounting) }
    }

    /// Takes at most one batch from `ring` into the table; returns how many packets.
    private func drainBatch(_ ring: SPSCRing<PacketSummary>) -> Int {
        lock.withLock { _ in count(ring, max: batchSize) }
    }

    /// Counts at most `max` packets of `ring` into the table, for a caller holding the
    /// lock; returns how many.
    private func count(_ ring: SPSCRing<PacketSummary>, max: Int) -> Int {
        // A local, so the per-packet call retains nothing.
        let accounting = self.accounting
        let drained = ring.drain(max: max) { accounting.enqueue($0) }
        accounting.flush()
        return drained
    }

    /// Counts what `ring` and `dns` hold now on the calling thread, their producer's, when
    /// no one else holds the lock; returns false, having done nothing, when someone does
    /// (a scrape copying the table, another interface's thread, the aggregator thread),
    /// and the producer should then wake the aggregator as usual.
    ///
    /// A capture thread calls it after each dispatch: the summaries it just wrote are
    /// counted while they are still in its cache, and the aggregator thread, which would
    /// read them from the other core's cache after a wake-up, stays asleep. Consumers of
    /// a ring are serialized by the lock, so the ring keeps one consumer at a time.
    public func drainIfFree(_ ring: SPSCRing<PacketSummary>, dns: SPSCRing<DNSAnswers>?) -> Bool {
        let drained: Int? = lock.withLockIfAvailable { _ in
            if let dns { _ = recordNames(dns) }
            return count(ring, max: ring.capacity)
        }
        guard let drained else { return false }
        if drained > 0 { checkUnknownEndpoints() }
        return true
    }

    /// Drains one ring completely into the table (a ring whose producer has stopped).
    @discardableResult
    public func drain(_ ring: SPSCRing<PacketSummary>) -> Int {
        var total = 0
        // Bounded by what the ring holds once its producer has stopped.
        for _ in 0...(ring.capacity / batchSize + 1) {
            let n = drainBatch(ring)
            total += n
            if n == 0 { break }
        }
        return total
    }

    /// One pass: at most one batch from each attached ring, so a flooded interface
    /// cannot hold back the others. Returns how many packets were counted.
    @discardableResult
    public func drainAll() -> Int {
        let current = rings.withLock { $0 }
        var total = 0
        for ring in dnsRings.withLock({ $0 }) { total += drainNames(ring) }
        for ring in current { total += drainBatch(ring) }
        if total > 0 { checkUnknownEndpoints() }
        return total
    }

    /// True when no attached ring holds a packet.
    private var ringsAreEmpty: Bool {
        rings.withLock { rings in rings.allSatisfy { $0.isEmpty } } && dnsRings.withLock { rings in rings.allSatisfy { $0.isEmpty } }
    }

    /// Starts the draining thread, named pe-aggregator; it sleeps while every ring is empty.
    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            nameCurrentThread("pe-aggregator")
            while running.load(ordering: .acquiring) {
                if drainAll() == 0 {
                    wakeUp.wait { ringsAreEmpty && running.load(ordering: .acquiring) }
                }
            }
            while drainAll() > 0 {}
            stopped.signal()
        }
        thread.start()
    }

    /// Stops the draining thread after a final drain.
    public func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        wakeUp.wake()
        stopped.wait()
    }

    /// Calls `body` once, on the thread counting them, as soon as packets show the host
    /// sending from a local endpoint that the socket table given to the accounting does not
    /// know (a new connection or socket since its last reading; see
    /// `TrafficAccounting.unknownSendingEndpointPackets`). Replaces an earlier registration.
    /// The socket task registers again after each reading, so it is called at most once
    /// per reading.
    public func notifyOnUnknownEndpoint(_ body: @escaping @Sendable () -> Void) {
        let seen = withAccounting { $0.unknownSendingEndpointPackets }
        unknownEndpointWatch.withLock { $0 = (seen, body) }
    }

    private func checkUnknownEndpoints() {
        guard let watch = unknownEndpointWatch.withLock({ $0 }) else { return }
        let now = withAccounting { $0.unknownSendingEndpointPackets }
        guard now != watch.seen else { return }
        let fire = unknownEndpointWatch.withLock { current -> Bool in
            guard current?.seen == watch.seen else { return false }
            current = nil
            return true
        }
        if fire { watch.body() }
    }

    /// The DNS names held now (a copy-on-write copy).
    public func dnsNames() -> DNSNameSnapshot {
        lock.withLock { _ in dnsNameTable.snapshot }
    }

    /// A consistent copy of everything counted so far.
    public func snapshot() -> TrafficSnapshot {
        lock.withLock { _ in
            var snapshot = TrafficSnapshot(copying: accounting)
            snapshot.dnsNames = dnsNameTable.snapshot
            return snapshot
        }
    }

    /// A copy of the TCP health counters alone (cheaper than `snapshot()` for a scrape
    /// that does not need the traffic table).
    public func tcpHealthSnapshot() -> TCPHealthSnapshot {
        lock.withLock { _ in accounting.tcpHealth.snapshot() }
    }
}
