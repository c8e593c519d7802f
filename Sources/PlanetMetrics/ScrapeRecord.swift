import Foundation
import Synchronization

/// What the latest scrape said about each collector (planet_scrape_collector_success and
/// _duration_seconds), kept so the page shows the same task health /metrics did.
public final class ScrapeRecord: Sendable {
    /// One collector's result in a scrape.
    public struct Result: Sendable, Equatable {
        public var collector: String
        public var seconds: Double
        public var success: Bool

        /// A result from its parts.
        public init(collector: String, seconds: Double, success: Bool) {
            self.collector = collector
            self.seconds = seconds
            self.success = success
        }
    }

    private let latest = Mutex<(time: Double, results: [Result])?>(nil)

    /// An empty record.
    public init() {}

    /// Keeps the results of a scrape that ended at `time` (seconds since 1970).
    public func record(_ results: [Result], at time: Double = Date().timeIntervalSince1970) {
        latest.withLock { $0 = (time, results) }
    }

    /// The latest scrape's results and when it ended; nil before the first.
    public func get() -> (time: Double, results: [Result])? { latest.withLock { $0 } }
}
