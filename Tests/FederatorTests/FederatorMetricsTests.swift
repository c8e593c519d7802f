import Foundation
import Testing
@testable import Federator

@Suite struct FederatorMetricsTests {
    static func lines(_ metrics: FederatorMetrics) -> [String] {
        String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    static func result(written: Int, rejected: Int = 0, unwritten: Int = 0) -> SinkResult {
        var result = SinkResult()
        result.written = written
        result.rejected = rejected
        result.unwritten = unwritten
        return result
    }

    @Test func beforeTheFirstRunEverySeriesIsThereAtZero() {
        let lines = Self.lines(FederatorMetrics(stores: [.remoteWrite, .influxdb], version: "1.2.3", revision: "abc"))
        #expect(lines == [
            #"planet_federator_build_info{revision="abc",version="1.2.3"} 1"#,
            #"planet_federator_runs_total{result="failed"} 0"#,
            #"planet_federator_runs_total{result="succeeded"} 0"#,
            "planet_federator_last_run_timestamp_seconds 0",
            "planet_federator_last_success_timestamp_seconds 0",
            "planet_federator_last_run_duration_seconds 0",
            "planet_federator_series_received_total 0",
            #"planet_federator_written_total{store="influxdb"} 0"#,
            #"planet_federator_written_total{store="remote-write"} 0"#,
            #"planet_federator_rejected_total{store="influxdb"} 0"#,
            #"planet_federator_rejected_total{store="remote-write"} 0"#,
            #"planet_federator_unwritten_total{store="influxdb"} 0"#,
            #"planet_federator_unwritten_total{store="remote-write"} 0"#,
            "planet_federator_pending_windows 0",
            "planet_federator_dropped_evaluations_total 0",
        ])
    }

    @Test func runsAddUpAndTheLastRunSetsTheGauges() {
        let metrics = FederatorMetrics(stores: [.influxdb], version: "1", revision: "r")
        var failed = RunSummary()
        failed.series = 10
        failed.sinks[.influxdb] = Self.result(written: 40, rejected: 5, unwritten: 12)
        failed.failures = ["a batch refused"]
        failed.pendingWindows = 2
        failed.droppedEvaluations = 3
        metrics.record(failed, started: Date(timeIntervalSince1970: 1000), finished: Date(timeIntervalSince1970: 1002.5))
        var succeeded = RunSummary()
        succeeded.series = 7
        succeeded.sinks[.influxdb] = Self.result(written: 30)
        metrics.record(succeeded, started: Date(timeIntervalSince1970: 1030), finished: Date(timeIntervalSince1970: 1031))
        let lines = Self.lines(metrics)
        for expected in [
            #"planet_federator_runs_total{result="failed"} 1"#,
            #"planet_federator_runs_total{result="succeeded"} 1"#,
            "planet_federator_last_run_timestamp_seconds 1031",
            "planet_federator_last_success_timestamp_seconds 1031",
            "planet_federator_last_run_duration_seconds 1",
            "planet_federator_series_received_total 17",
            #"planet_federator_written_total{store="influxdb"} 70"#,
            #"planet_federator_rejected_total{store="influxdb"} 5"#,
            #"planet_federator_unwritten_total{store="influxdb"} 12"#,
            "planet_federator_pending_windows 0",
            "planet_federator_dropped_evaluations_total 3",
        ] {
            #expect(lines.contains(expected), "\(expected)")
        }
    }

    @Test func aFailedRunLeavesTheLastSuccessWhereItWas() {
        let metrics = FederatorMetrics(stores: [.influxdb], version: "1", revision: "r")
        metrics.record(RunSummary(), started: Date(timeIntervalSince1970: 500), finished: Date(timeIntervalSince1970: 501))
        var failed = RunSummary()
        failed.failures = ["query traffic from prometheus: refused"]
        failed.pendingWindows = 1
        metrics.record(failed, started: Date(timeIntervalSince1970: 600), finished: Date(timeIntervalSince1970: 604))
        let lines = Self.lines(metrics)
        #expect(lines.contains("planet_federator_last_success_timestamp_seconds 501"))
        #expect(lines.contains("planet_federator_last_run_timestamp_seconds 604"))
        #expect(lines.contains("planet_federator_last_run_duration_seconds 4"))
        #expect(lines.contains("planet_federator_pending_windows 1"))
    }
}
