import Synchronization

/// The spans the history keeps, as darkstat's graphs show them.
public enum HistoryRange: String, CaseIterable, Sendable {
    /// The last 60 seconds, one bucket a second.
    case minute
    /// The last 60 minutes, one bucket a minute.
    case hour
    /// The last 24 hours, one bucket an hour.
    case day
    /// The last 31 days, one bucket a day (UTC days).
    case month

    /// Seconds covered by one bucket.
    public var bucketSeconds: Int64 {
        switch self {
        case .minute: 1
        case .hour: 60
        case .day: 3600
        case .month: 86400
        }
    }

    /// Buckets kept.
    public var bucketCount: Int {
        switch self {
        case .minute, .hour: 60
        case .day: 24
        case .month: 31
        }
    }
}

/// Bytes counted against peers during one bucket of a history range.
public struct HistoryBucket: Sendable, Equatable {
    /// The bucket's start, in seconds since 1970 (UTC), a multiple of the range's bucket length.
    public var start: Int64
    public var ingressBytes: UInt64
    public var egressBytes: UInt64

    /// A bucket from its fields.
    public init(start: Int64, ingressBytes: UInt64, egressBytes: UInt64) {
        self.start = start
        self.ingressBytes = ingressBytes
        self.egressBytes = egressBytes
    }
}

/// The mark a traffic series' rate is measured from: 8 bytes in each TrafficTable entry,
/// written only by the history's sweep, never on the packet path.
///
/// Bytes are kept in 16-byte units modulo 2^32, so one series can move up to 64 GiB
/// between two sweeps (55 Gbit/s over the 10-second window) before its rate wraps.
@frozen @usableFromInline
struct RateMark: Sendable, BitwiseCopyable {
    /// The series' bytes at the latest sweep, in units.
    @usableFromInline var start: UInt32
    /// Units counted between the two latest sweeps.
    @usableFromInline var previous: UInt32

    @usableFromInline static let zero = RateMark(start: 0, previous: 0)

    @usableFromInline init(start: UInt32, previous: UInt32) {
        self.start = start
        self.previous = previous
    }

    /// Bytes in rate units.
    static func units(_ bytes: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: bytes >> 4) }
    static let unitBytes = 16.0
}

/// Traffic over time in fixed memory: totals per direction in darkstat's four ranges
/// (60 x 1 s, 60 x 1 min, 24 x 1 h, 31 x 1 day), the windows series rates are measured
/// over, and the (tick, time) samples that turn a series' last-active tick into a time.
///
/// Fed once a second by `TrafficAggregator.recordHistory(_:at:)` from totals the
/// accounting keeps per batch, so nothing is added to the packet path. Memory is
/// 175 buckets of 32 bytes whatever the number of series; each series adds its
/// 8-byte RateMark to the traffic table. Times are seconds since 1970, passed in.
public final class TrafficHistory: Sendable {
    /// Seconds between two sweeps of the rate marks: a series' rate is its bytes/s over
    /// the last one to two windows (the previous complete window and the current one).
    public static let rateWindow = 10.0

    struct Bucket {
        var ingress: UInt64 = 0
        var egress: UInt64 = 0
        /// The table's tick and the time at the latest sample in this bucket (time 0: none).
        var tick: UInt64 = 0
        var time = 0.0
    }

    struct Ring {
        let range: HistoryRange
        var buckets: [Bucket]
        /// Index of the newest bucket in `buckets`, and its start (nil before the first sample).
        var newest = 0
        var newestStart: Int64? = nil

        init(_ range: HistoryRange) {
            self.range = range
            buckets = Array(repeating: Bucket(), count: range.bucketCount)
        }

        mutating func add(ingress: UInt64, egress: UInt64, tick: UInt64, at time: Double) {
            let size = range.bucketSeconds
            let start = Int64(time.rounded(.down)).floorDivided(by: size) * size
            if let current = newestStart {
                // A clock set back keeps adding to the newest bucket rather than rewrite the past.
                if start > current {
                    let steps = min(Int((start - current) / size), buckets.count)
                    for _ in 0..<steps {
                        newest = (newest + 1) % buckets.count
                        buckets[newest] = Bucket()
                    }
                    newestStart = start
                }
            } else {
                newestStart = start
            }
            buckets[newest].ingress &+= ingress
            buckets[newest].egress &+= egress
            buckets[newest].tick = tick
            buckets[newest].time = time
        }

        /// Oldest first.
        var ordered: [Bucket] { (1...buckets.count).map { buckets[(newest + $0) % buckets.count] } }

        /// Puts saved buckets back in an empty ring whose newest bucket is the one holding
        /// `time`: a bucket keeps its place in time, so the span the agent was stopped shows
        /// as empty buckets, and one older than the range or not yet begun (a clock set
        /// back) is dropped. Restored buckets carry no (tick, time) sample. Returns how many
        /// were restored.
        mutating func restore(_ saved: [HistoryBucket], at time: Double) -> Int {
            guard newestStart == nil, !saved.isEmpty else { return 0 }
            let size = range.bucketSeconds
            let now = Int64(time.rounded(.down)).floorDivided(by: size) * size
            newestStart = now
            newest = buckets.count - 1
            var restored = 0
            for bucket in saved where bucket.start <= now && bucket.start.isMultiple(of: size) {
                let age = (now - bucket.start) / size
                guard age < Int64(buckets.count) else { continue }
                let index = buckets.count - 1 - Int(age)
                buckets[index].ingress &+= bucket.ingressBytes
                buckets[index].egress &+= bucket.egressBytes
                restored += 1
            }
            return restored
        }
    }

    /// The totals and time of one sweep of the rate marks.
    struct Sweep {
        var time: Double
        var ingress: UInt64
        var egress: UInt64
    }

    struct State {
        var rings = HistoryRange.allCases.map(Ring.init)
        var lastTotals: (ingress: UInt64, egress: UInt64) = (0, 0)
        /// The sweep before the latest (where rate windows start) and the latest.
        var windowStart: Sweep? = nil
        var latestSweep: Sweep? = nil
    }

    private let state = Mutex(State())

    /// An empty history.
    public init() {}

    /// Records one sample: the accounting's totals per direction (evicted series
    /// included, so they never go down), the table's tick, and the time. Calls `sweep`
    /// with true on the first sample, false on later ones, whenever a rate window is due.
    func record(ingress: UInt64, egress: UInt64, tick: UInt64, at time: Double, sweep: (_ first: Bool) -> Void) {
        guard time.isFinite, abs(time) < 1e15 else { return }
        state.withLock { state in
            let deltaIn = ingress >= state.lastTotals.ingress ? ingress - state.lastTotals.ingress : 0
            let deltaOut = egress >= state.lastTotals.egress ? egress - state.lastTotals.egress : 0
            state.lastTotals = (ingress, egress)
            for index in state.rings.indices {
                state.rings[index].add(ingress: deltaIn, egress: deltaOut, tick: tick, at: time)
            }
            let now = Sweep(time: time, ingress: ingress, egress: egress)
            guard let latest = state.latestSweep else {
                sweep(true)
                state.windowStart = now
                state.latestSweep = now
                return
            }
            // Half a second of slack, so a once-a-second caller sweeps every 10 samples.
            if time - latest.time >= Self.rateWindow - 0.5 || time < latest.time {
                sweep(false)
                state.windowStart = latest
                state.latestSweep = now
            }
        }
    }

    /// The buckets of `range`, oldest first, the newest still filling; empty before the first sample.
    public func buckets(_ range: HistoryRange) -> [HistoryBucket] {
        state.withLock { state in
            let ring = state.rings[HistoryRange.allCases.firstIndex(of: range)!]
            guard let newestStart = ring.newestStart else { return [] }
            let size = range.bucketSeconds
            let count = Int64(ring.buckets.count)
            return ring.ordered.enumerated().map { offset, bucket in
                HistoryBucket(start: newestStart - (count - 1 - Int64(offset)) * size,
                              ingressBytes: bucket.ingress, egressBytes: bucket.egress)
            }
        }
    }

    /// The buckets of every range that hold bytes, oldest first: what a state file keeps.
    public func savedBuckets() -> [HistoryRange: [HistoryBucket]] {
        var saved: [HistoryRange: [HistoryBucket]] = [:]
        for range in HistoryRange.allCases {
            saved[range] = buckets(range).filter { $0.ingressBytes != 0 || $0.egressBytes != 0 }
        }
        return saved
    }

    /// Puts back the buckets an earlier run saved, before the first sample of this one,
    /// each at its own time (see `Ring.restore`); `time` is now, seconds since 1970.
    /// Returns how many buckets were restored; none once a sample has been recorded.
    @discardableResult
    public func restore(_ saved: [HistoryRange: [HistoryBucket]], at time: Double) -> Int {
        guard time.isFinite, abs(time) < 1e15 else { return 0 }
        return state.withLock { state in
            guard state.rings.allSatisfy({ $0.newestStart == nil }) else { return 0 }
            var restored = 0
            for index in state.rings.indices {
                restored += state.rings[index].restore(saved[state.rings[index].range] ?? [], at: time)
            }
            return restored
        }
    }

    /// The (tick, time) samples of every bucket that had one, and where the rate window starts.
    func clockAndWindow() -> (samples: [(tick: UInt64, time: Double)], window: Sweep?) {
        state.withLock { state in
            var samples: [(tick: UInt64, time: Double)] = []
            for ring in state.rings {
                for bucket in ring.buckets where bucket.time > 0 { samples.append((bucket.tick, bucket.time)) }
            }
            samples.sort { $0.tick < $1.tick || ($0.tick == $1.tick && $0.time < $1.time) }
            return (samples, state.windowStart)
        }
    }

    /// Bytes of memory the history holds, whatever the number of series (the rate marks
    /// are in the traffic table: `TrafficHistory.bytesPerSeries` each).
    public static var memoryFootprint: Int {
        HistoryRange.allCases.reduce(0) { $0 + $1.bucketCount } * MemoryLayout<Bucket>.stride
            + MemoryLayout<State>.size
    }

    /// Bytes each traffic series spends on history: its rate mark.
    public static let bytesPerSeries = MemoryLayout<RateMark>.stride
}

/// What the page shows of the traffic at one moment: the snapshot /metrics renders, and
/// each series' current rate and last-active tick, with the totals and rates per direction.
public struct TrafficActivity: Sendable {
    /// The same snapshot a scrape renders.
    public var snapshot: TrafficSnapshot
    /// Bytes per second of each series (indexed as `snapshot.keys`) over the rate window.
    public var rates: [Double]
    /// The table's tick when each series last counted a packet: larger is more recent.
    public var lastActive: [UInt64]
    /// When this was taken, seconds since 1970.
    public var time: Double
    /// Bytes per second per direction over the rate window (evicted series included).
    public var ingressRate: Double
    public var egressRate: Double
    /// Seconds the rates are measured over.
    public var rateWindowSeconds: Double
    let samples: [(tick: UInt64, time: Double)]
    let tick: UInt64

    /// An activity reading from its parts, for tests and for sources other than capture.
    public init(snapshot: TrafficSnapshot, rates: [Double], lastSeen: [Double], time: Double,
                ingressRate: Double = 0, egressRate: Double = 0, rateWindowSeconds: Double = TrafficHistory.rateWindow) {
        self.snapshot = snapshot
        self.rates = rates
        self.time = time
        self.ingressRate = ingressRate
        self.egressRate = egressRate
        self.rateWindowSeconds = rateWindowSeconds
        // Each series gets its own tick, ordered as its time.
        let order = lastSeen.indices.sorted { lastSeen[$0] < lastSeen[$1] }
        var ticks = [UInt64](repeating: 0, count: lastSeen.count)
        var samples: [(tick: UInt64, time: Double)] = []
        for (rank, index) in order.enumerated() {
            ticks[index] = UInt64(rank + 1)
            samples.append((UInt64(rank + 1), lastSeen[index]))
        }
        lastActive = ticks
        self.samples = samples
        tick = UInt64(order.count)
    }

    init(snapshot: TrafficSnapshot, rates: [Double], lastActive: [UInt64], time: Double, ingressRate: Double,
         egressRate: Double, rateWindowSeconds: Double, samples: [(tick: UInt64, time: Double)], tick: UInt64) {
        self.snapshot = snapshot
        self.rates = rates
        self.lastActive = lastActive
        self.time = time
        self.ingressRate = ingressRate
        self.egressRate = egressRate
        self.rateWindowSeconds = rateWindowSeconds
        self.samples = samples
        self.tick = tick
    }

    /// When a series last counted a packet, seconds since 1970, given its last-active
    /// tick: the time of the first history sample taken after it (so at most a second
    /// late in the last minute, a minute in the last hour, an hour in the last day, a
    /// day before that), or `time` when no sample was taken since.
    public func lastSeen(tick activeTick: UInt64) -> Double {
        guard activeTick <= tick else { return time }
        var low = 0, high = samples.count
        while low < high {
            let middle = (low + high) / 2
            if samples[middle].tick < activeTick { low = middle + 1 } else { high = middle }
        }
        return low < samples.count ? min(samples[low].time, time) : time
    }
}

extension TrafficTable {
    /// Moves every series' rate mark to now; `first` starts the marks without a
    /// previous window. O(series), once per rate window, under the aggregator's lock.
    func sweepRateMarks(first: Bool) {
        for position in 0..<count {
            let units = RateMark.units(entries[position].counters.bytes)
            let previous = first ? 0 : units &- entries[position].rateMark.start
            entries[position].rateMark = RateMark(start: units, previous: previous)
        }
    }

    /// Copies the rate marks and last-active ticks, in storage order (as `copy`).
    func copyActivity(rateMarks: inout [RateMark], lastActive: inout [UInt64]) {
        rateMarks.removeAll(keepingCapacity: true)
        lastActive.removeAll(keepingCapacity: true)
        rateMarks.reserveCapacity(count)
        lastActive.reserveCapacity(count)
        for entry in UnsafeBufferPointer(start: entries, count: count) {
            rateMarks.append(entry.rateMark)
            lastActive.append(entry.lastActive)
        }
    }

    /// The tick of the latest packet counted.
    var currentTick: UInt64 { tick }
}

extension TrafficAggregator {
    /// Records one history sample (call it once a second): totals per direction, the
    /// table's tick, and every rate window a sweep of the series' rate marks.
    public func recordHistory(_ history: TrafficHistory, at time: Double) {
        withAccounting { accounting in
            history.record(ingress: accounting.ingressBytes, egress: accounting.egressBytes,
                           tick: accounting.table.currentTick, at: time) { first in
                accounting.table.sweepRateMarks(first: first)
            }
        }
    }

    /// The snapshot a scrape would render now, with each series' rate and last-active
    /// tick from `history`; the rates are worked out after the lock is released.
    public func activity(history: TrafficHistory, at time: Double) -> TrafficActivity {
        var marks: [RateMark] = []
        var ticks: [UInt64] = []
        let (snapshot, clock, tick, ingress, egress) = withAccounting { accounting in
            accounting.table.copyActivity(rateMarks: &marks, lastActive: &ticks)
            var snapshot = TrafficSnapshot(copying: accounting)
            snapshot.dnsNames = dnsNameTable.snapshot
            return (snapshot, history.clockAndWindow(), accounting.table.currentTick,
                    accounting.ingressBytes, accounting.egressBytes)
        }
        var rates = [Double](repeating: 0, count: marks.count)
        var ingressRate = 0.0, egressRate = 0.0, seconds = 0.0
        if let window = clock.window {
            // A window shorter than a second (just after start) would make rates jump.
            seconds = max(1, time - window.time)
            for index in marks.indices {
                let current = RateMark.units(snapshot.counters[index].bytes) &- marks[index].start
                rates[index] = Double(UInt64(marks[index].previous) + UInt64(current)) * RateMark.unitBytes / seconds
            }
            ingressRate = Double(ingress &- window.ingress) / seconds
            egressRate = Double(egress &- window.egress) / seconds
        }
        return TrafficActivity(snapshot: snapshot, rates: rates, lastActive: ticks, time: time, ingressRate: ingressRate,
                               egressRate: egressRate, rateWindowSeconds: seconds, samples: clock.samples, tick: tick)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity.
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
