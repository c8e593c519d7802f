import Foundation
import ServiceLifecycle
import Traffic

/// Samples the traffic history once a second: totals per direction for the page's
/// graphs, and every rate window a sweep of the series' rate marks.
final class HistoryTask: Service, Sendable {
    let history = TrafficHistory()
    private let aggregator: TrafficAggregator

    init(aggregator: TrafficAggregator) {
        self.aggregator = aggregator
    }

    func run() async throws {
        // Samples half-way through a second, so timer jitter never moves two samples
        // into one second's bucket and leaves the next one empty.
        let fraction = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 1)
        let wait = (1.5 - fraction).truncatingRemainder(dividingBy: 1)
        try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
        try await runPeriodically(every: .seconds(1)) { [self] in
            aggregator.recordHistory(history, at: Date().timeIntervalSince1970)
        }
    }
}
