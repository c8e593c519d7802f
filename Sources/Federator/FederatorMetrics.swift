import Exposition
import Foundation
import Synchronization

/// The federator's own metrics, served on its /metrics: every run's summary added up, so
/// a Prometheus can alert on failing runs, refused points and windows piling up.
public final class FederatorMetrics: Sendable {
    private struct Totals {
        var succeededRuns: UInt64 = 0
        var failedRuns: UInt64 = 0
        /// Unix seconds; 0 until it happens.
        var lastRunEnd: Double = 0
        var lastSuccessEnd: Double = 0
        var lastRunDuration: Double = 0
        var series: UInt64 = 0
        var written: [SinkID: UInt64] = [:]
        var rejected: [SinkID: UInt64] = [:]
        var unwritten: [SinkID: UInt64] = [:]
        var pendingWindows: UInt64 = 0
        var droppedEvaluations: UInt64 = 0
    }

    private let state = Mutex(Totals())
    private let stores: [SinkID]
    private let version: String
    private let revision: String

    /// The content type of `render()`'s bytes.
    public static let contentType = ExpositionWriter.contentType

    /// Metrics of a federator writing to `stores` (each has its series from the start, at 0).
    public init(stores: [SinkID], version: String, revision: String) {
        self.stores = stores.sorted()
        self.version = version
        self.revision = revision
    }

    /// Adds one run's summary; the run took from `started` to `finished`.
    public func record(_ summary: RunSummary, started: Date, finished: Date) {
        state.withLock { totals in
            if summary.succeeded {
                totals.succeededRuns += 1
                totals.lastSuccessEnd = finished.timeIntervalSince1970
            } else {
                totals.failedRuns += 1
            }
            totals.lastRunEnd = finished.timeIntervalSince1970
            totals.lastRunDuration = max(0, finished.timeIntervalSince(started))
            totals.series += UInt64(max(0, summary.series))
            for (store, result) in summary.sinks {
                totals.written[store, default: 0] += UInt64(max(0, result.written))
                totals.rejected[store, default: 0] += UInt64(max(0, result.rejected))
                totals.unwritten[store, default: 0] += UInt64(max(0, result.unwritten))
            }
            totals.pendingWindows = UInt64(max(0, summary.pendingWindows))
            totals.droppedEvaluations += UInt64(max(0, summary.droppedEvaluations))
        }
    }

    /// The exposition of everything recorded so far.
    public func render() -> [UInt8] {
        let totals = state.withLock { $0 }
        var writer = ExpositionWriter()
        writer.family("planet_federator_build_info", help: "planet-federator's version and revision, as the value 1", kind: .gauge)
        writer.sample("planet_federator_build_info", ["revision": revision, "version": version], UInt64(1))
        writer.family("planet_federator_runs_total", help: "Federation runs, by result: failed when a query failed or a batch was not written", kind: .counter)
        writer.sample("planet_federator_runs_total", ["result": "failed"], totals.failedRuns)
        writer.sample("planet_federator_runs_total", ["result": "succeeded"], totals.succeededRuns)
        writer.family("planet_federator_last_run_timestamp_seconds", help: "When the last run ended, in Unix seconds; 0 before the first", kind: .gauge)
        writer.sample("planet_federator_last_run_timestamp_seconds", [:], totals.lastRunEnd)
        writer.family("planet_federator_last_success_timestamp_seconds", help: "When the last run that wrote everything it queried ended, in Unix seconds; 0 before the first", kind: .gauge)
        writer.sample("planet_federator_last_success_timestamp_seconds", [:], totals.lastSuccessEnd)
        writer.family("planet_federator_last_run_duration_seconds", help: "How long the last run took, queries, writes and retries included", kind: .gauge)
        writer.sample("planet_federator_last_run_duration_seconds", [:], totals.lastRunDuration)
        writer.family("planet_federator_series_received_total", help: "Series received from Prometheus", kind: .counter)
        writer.sample("planet_federator_series_received_total", [:], totals.series)
        writer.family("planet_federator_written_total", help: "Points (InfluxDB) or samples (remote write) the store accepted, by store", kind: .counter)
        for store in stores { writer.sample("planet_federator_written_total", ["store": store.rawValue], totals.written[store, default: 0]) }
        writer.family("planet_federator_rejected_total", help: "Points or samples the store refused for good (4xx, the refused part of a partial write), by store", kind: .counter)
        for store in stores { writer.sample("planet_federator_rejected_total", ["store": store.rawValue], totals.rejected[store, default: 0]) }
        writer.family("planet_federator_unwritten_total", help: "Points or samples not written because of a failure that may pass (timeouts, 5xx, connection problems); their window is caught up later", kind: .counter)
        for store in stores { writer.sample("planet_federator_unwritten_total", ["store": store.rawValue], totals.unwritten[store, default: 0]) }
        writer.family("planet_federator_pending_windows", help: "Windows kept for catch-up after the last run", kind: .gauge)
        writer.sample("planet_federator_pending_windows", [:], totals.pendingWindows)
        writer.family("planet_federator_dropped_evaluations_total", help: "Evaluations given up: older than -catch-up-max-age, or past the bound of the pending windows", kind: .counter)
        writer.sample("planet_federator_dropped_evaluations_total", [:], totals.droppedEvaluations)
        return writer.bytes
    }
}
