import Diagnostics
import Foundation
import ServiceLifecycle
import Traffic

/// Samples the traffic history once a second: totals per direction for the page's
/// graphs, and every rate window a sweep of the series' rate marks.
///
/// The sampling runs on a thread of its own, pe-history, which sleeps on a semaphore
/// with a timeout between samples: one futex wait a second. A Swift concurrency timer
/// costs several threads' wake-ups per tick (libdispatch's timer thread, then a pool
/// thread), which was most of what an idle agent spent.
final class HistoryTask: Service, Sendable {
    let history = TrafficHistory()
    private let aggregator: TrafficAggregator
    private let stopRequested = DispatchSemaphore(value: 0)

    init(aggregator: TrafficAggregator) {
        self.aggregator = aggregator
    }

    func run() async throws {
        let thread = Thread { [self] in
            nameCurrentThread("pe-history")
            while stopRequested.wait(timeout: .now() + Self.untilNextSample(Date())) == .timedOut {
                aggregator.recordHistory(history, at: Date().timeIntervalSince1970)
            }
        }
        thread.start()
        // Returns at graceful shutdown, or at once when cancelled; the thread then ends
        // after the sample it may be taking.
        try? await gracefulShutdown()
        stopRequested.signal()
    }

    /// Samples are taken half-way through a wall-clock second, so timer jitter never moves
    /// two samples into one second's bucket and leaves the next one empty.
    static func untilNextSample(_ now: Date) -> DispatchTimeInterval {
        var wait = (1.5 - now.timeIntervalSince1970.truncatingRemainder(dividingBy: 1)).truncatingRemainder(dividingBy: 1)
        // Just sampled this second (or starting close to its mark): the next second's.
        if wait < 0.25 { wait += 1 }
        return .microseconds(Int(wait * 1_000_000))
    }
}
