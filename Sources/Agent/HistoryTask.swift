import Foundation
import ServiceLifecycle
import Traffic

/// Samples the traffic history once a second: totals per direction for the page's
/// graphs, and every rate window a sweep of the series' rate marks.
///
/// The sampling runs on a thread of its own, pe-history (`runOnOwnThread`): one futex
/// wait a second.
final class HistoryTask: Service, Sendable {
    let history = TrafficHistory()
    private let aggregator: TrafficAggregator

    init(aggregator: TrafficAggregator) {
        self.aggregator = aggregator
    }

    func run() async throws {
        await runOnOwnThread(named: "pe-history") { [self] alarm in
            while alarm.sleep(until: .now() + Self.untilNextSample(Date())) != nil {
                aggregator.recordHistory(history, at: Date().timeIntervalSince1970)
            }
        }
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
