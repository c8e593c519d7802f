import AsyncHTTPClient
import Diagnostics
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where to send remote-write requests.
public struct RemoteWriteTarget: Sendable, Equatable {
    /// The receiver's URL, e.g. http://127.0.0.1:9090/api/v1/write.
    public var url: String
    /// Samples per request.
    public var batchSize: Int

    /// A target as configured.
    public init(url: String, batchSize: Int) {
        self.url = url
        self.batchSize = batchSize
    }
}

/// Everything a federation run needs, taken from the command line.
public struct FederatorConfiguration: Sendable {
    /// Prometheus base URL, e.g. http://127.0.0.1:9090.
    public var prometheusAddress: String
    /// InfluxDB address, bucket/database, org and token; nil writes to no InfluxDB.
    public var influx: InfluxTarget?
    /// Which write API to use, or ask the server.
    public var influxAPI: InfluxAPIChoice
    /// Points per write request.
    public var batchSize: Int
    /// A Prometheus remote-write receiver to write the same data sets to.
    public var remoteWrite: RemoteWriteTarget?
    /// Exclusions and smoothing for the PromQL queries.
    public var queryOptions: QueryOptions
    /// Spacing of evaluations inside a run's window, in seconds.
    public var stepSeconds: Int
    /// Added to the run time to get the window's end (negative: query a little in the
    /// past so the latest scrapes are in Prometheus).
    public var timeOffsetSeconds: Int
    /// A run (queries, retries and writes) is abandoned after this long.
    public var jobTimeout: Duration
    /// Windows older than this are not caught up any more, in seconds.
    public var catchUpMaxAgeSeconds: Int
    /// Where the state (last window, windows not yet written) survives restarts; nil keeps it in memory.
    public var stateFile: String?
    /// Sent as User-Agent.
    public var userAgent: String

    /// A configuration with every setting given.
    public init(
        prometheusAddress: String, influx: InfluxTarget?, influxAPI: InfluxAPIChoice, batchSize: Int,
        remoteWrite: RemoteWriteTarget? = nil, queryOptions: QueryOptions, stepSeconds: Int, timeOffsetSeconds: Int,
        jobTimeout: Duration, catchUpMaxAgeSeconds: Int = 86_400, stateFile: String? = nil,
        userAgent: String = "planet-federator"
    ) {
        self.prometheusAddress = prometheusAddress
        self.influx = influx
        self.influxAPI = influxAPI
        self.batchSize = batchSize
        self.remoteWrite = remoteWrite
        self.queryOptions = queryOptions
        self.stepSeconds = stepSeconds
        self.timeOffsetSeconds = timeOffsetSeconds
        self.jobTimeout = jobTimeout
        self.catchUpMaxAgeSeconds = catchUpMaxAgeSeconds
        self.stateFile = stateFile
        self.userAgent = userAgent
    }
}

/// The time range one run asks Prometheus for, in Unix seconds.
public struct QueryWindow: Sendable, Equatable {
    /// First evaluation time.
    public var start: Int
    /// Last evaluation time.
    public var end: Int
    /// Spacing of evaluations.
    public var step: Int

    /// Prometheus refuses more than 11,000 evaluations per series.
    static let maxSteps = 11_000

    /// The window of a run at `runTime` covering the `periodSeconds` since the previous run:
    /// evaluations aligned to multiples of the step, the previous run's last one excluded
    /// so consecutive runs never write the same timestamp twice.
    public init(runTime: Int, periodSeconds: Int, stepSeconds: Int, offsetSeconds: Int) {
        let period = max(1, periodSeconds)
        step = max(1, min(stepSeconds, period))
        let shifted = runTime + offsetSeconds
        end = shifted - ((shifted % step) + step) % step
        let length = min(period, step * Self.maxSteps)
        start = end - length + step
        if start > end { start = end }
    }
}

/// What one run did, for the log and for tests.
public struct RunSummary: Sendable, Equatable {
    /// Per store: points or samples written, rejected, and left for catch-up.
    public var sinks: [SinkID: SinkResult] = [:]
    /// Series received from Prometheus.
    public var series = 0
    /// One line per failure (a query that failed, a batch that was not written).
    public var failures: [String] = []
    /// Windows still to be written after this run.
    public var pendingWindows = 0
    /// Evaluations given up: older than -catch-up-max-age, or beyond the pending list's bound.
    public var droppedEvaluations = 0

    /// Whether everything queried was also written.
    public var succeeded: Bool { failures.isEmpty }
}

/// Runs federation jobs: query Prometheus, stream each series to the stores as it
/// arrives, and remember the windows that could not be written so a later run catches up.
public actor Federator {
    /// Evaluations per query: a catch-up of many windows is cut into queries of this size,
    /// so Prometheus never builds an answer larger than a few hours of data.
    public static let maxEvaluationsPerQuery = 120

    private let configuration: FederatorConfiguration
    private let client: HTTPClient
    private let http: HTTPExchange
    private let logger: Logger
    private let sinks: [any FederationSink]
    private var state: FederationState

    /// A federator using `client` for every server; the caller owns and shuts down the
    /// client. With a state file, the state it holds is read now (a file that cannot be
    /// read is reported and replaced at the next save).
    public init(client: HTTPClient, configuration: FederatorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        let http = HTTPExchange(client: client, logger: logger)
        self.http = http
        var sinks: [any FederationSink] = []
        if let influx = configuration.influx {
            sinks.append(InfluxSink(target: influx, choice: configuration.influxAPI, batchSize: configuration.batchSize, http: http, logger: logger))
        }
        if let remoteWrite = configuration.remoteWrite {
            sinks.append(RemoteWriteSink(url: remoteWrite.url, batchSize: remoteWrite.batchSize, userAgent: configuration.userAgent, http: http, logger: logger))
        }
        self.sinks = sinks
        var state = FederationState()
        if let path = configuration.stateFile {
            do {
                state = try FederationState.load(from: path)
                if !state.pending.isEmpty || state.lastEnd != nil {
                    logger.info("state file read", metadata: [
                        "path": "\(path)", "last_end": "\(state.lastEnd.map(String.init) ?? "none")", "pending_windows": "\(state.pending.count)",
                    ])
                }
            } catch {
                // Kept for a person to look at, and out of the way of the next save.
                let aside = (try? setAside(path)).map { "; moved to \($0), starting empty" } ?? "; starting empty"
                logger.error("\(error)\(aside)")
            }
        }
        self.state = state
    }

    /// The state as it stands (for tests and the log).
    public var currentState: FederationState { state }

    /// One job: the window ending at `runTime` (Unix seconds) plus the offset, starting after
    /// the previous run's window (or covering `periodSeconds` on the first run), and before
    /// it every window not yet written. Never throws: failures are logged and returned.
    /// When the task is cancelled (shutdown) the run stops at once and keeps what it did
    /// not write for the next run.
    public func run(runTime: Int, periodSeconds: Int) async -> RunSummary {
        let deadline = ContinuousClock.now + configuration.jobTimeout
        let window = QueryWindow(
            runTime: runTime, periodSeconds: periodSeconds,
            stepSeconds: configuration.stepSeconds, offsetSeconds: configuration.timeOffsetSeconds
        )
        var summary = RunSummary()
        for sink in sinks { summary.sinks[sink.id] = SinkResult() }
        let oldest = window.end - configuration.catchUpMaxAgeSeconds
        var start = window.start
        if let lastEnd = state.lastEnd {
            // Everything after the previous run's window: a late or missed run leaves no gap.
            start = (Self.floorDiv(lastEnd, window.step) + 1) * window.step
        }
        if start < oldest {
            let cut = (oldest - start + window.step - 1) / window.step
            summary.droppedEvaluations += cut
            start += cut * window.step
        }
        if start <= window.end {
            for dataSet in DataSet.allCases {
                summary.droppedEvaluations += state.add(PendingWindow(
                    dataSet: dataSet, start: start, end: window.end, step: window.step, sinks: sinks.map { $0.id }))
            }
            state.lastEnd = window.end
        }
        summary.droppedEvaluations += state.expire(before: oldest)

        for entry in state.takeAll() {
            for unit in entry.chunks(maxEvaluations: Self.maxEvaluationsPerQuery) {
                if Task.isCancelled || ContinuousClock.now >= deadline {
                    summary.droppedEvaluations += state.add(unit)
                    continue
                }
                await federate(unit, deadline: deadline, into: &summary)
            }
        }
        summary.pendingWindows = state.pending.count
        if Task.isCancelled {
            summary.failures.append("run stopped by shutdown; \(summary.pendingWindows) windows kept for the next run")
        } else if ContinuousClock.now >= deadline, summary.pendingWindows > 0 {
            summary.failures.append("job timeout (-cron-job-timeout-second) reached; \(summary.pendingWindows) windows kept for the next run")
        }
        saveState()
        log(summary, window: window)
        return summary
    }

    /// Writes the state file, when there is one.
    public func saveState() {
        guard let path = configuration.stateFile else { return }
        do {
            try state.save(to: path)
        } catch {
            logger.error("\(error)")
        }
    }

    /// One data set over one window: the query's answer streamed to every store that still
    /// needs it. The window is recorded again for each store that did not get all of it.
    private func federate(_ unit: PendingWindow, deadline: ContinuousClock.Instant, into summary: inout RunSummary) async {
        let targets = sinks.filter { unit.sinks.contains($0.id) }
        let query = FederationQueries.query(unit.dataSet, options: configuration.queryOptions, stepSeconds: unit.step)
        var queryFailed = false
        do {
            let dataSet = unit.dataSet
            let series = try await queryRange(query, window: unit, deadline: deadline) { series in
                for sink in targets { await sink.add(series, dataSet: dataSet, deadline: deadline) }
            }
            summary.series += series
            logger.debug("queried prometheus", metadata: [
                "dataset": "\(unit.dataSet.rawValue)", "start": "\(unit.start)", "end": "\(unit.end)", "series": "\(series)",
            ])
        } catch {
            queryFailed = true
            let reason = error is CancellationError ? "stopped by shutdown" : "\(error)"
            summary.failures.append("query \(unit.dataSet.rawValue) from prometheus at \(configuration.prometheusAddress): \(reason)")
            logger.error("federation query failed, window kept for catch-up", metadata: [
                "dataset": "\(unit.dataSet.rawValue)", "start": "\(unit.start)", "end": "\(unit.end)", "error": "\(reason)",
            ])
        }
        var missing: [SinkID] = []
        for sink in targets {
            let result = await sink.finish(deadline: deadline)
            summary.sinks[sink.id, default: SinkResult()].add(result)
            summary.failures += result.failures
            if queryFailed || result.needsCatchUp { missing.append(sink.id) }
        }
        var again = unit
        again.sinks = missing
        summary.droppedEvaluations += state.add(again)
    }

    /// Runs a range query and hands each series of the answer to `handle` as it is read.
    /// The whole exchange, body included, must end before `deadline`. Failures before the
    /// first series are retried; after it they are final for this run (the window is caught
    /// up later), since a retry would hand the same series over twice.
    private func queryRange(
        _ query: String, window: PendingWindow, deadline: ContinuousClock.Instant,
        handle: @escaping @Sendable (PrometheusSeries) async -> Void
    ) async throws -> Int {
        let base = configuration.prometheusAddress.hasSuffix("/")
            ? String(configuration.prometheusAddress.dropLast()) : configuration.prometheusAddress
        let url = base + "/api/v1/query_range?query=" + percentEncode(query)
            + "&start=\(window.start)&end=\(window.end)&step=\(window.step)"
        let client = self.client
        return try await http.withRetries("prometheus query_range", deadline: deadline) { _ in
            // Prometheus evaluates the whole query before it answers, so the head may take
            // as long as the job allows; so may the body, which is written as it is read.
            try await withDeadline(deadline, "prometheus query_range") {
                let response = try await HTTPExchange.execute(client, HTTPClientRequest(url: url), server: "prometheus", deadline: deadline)
                guard (200..<300).contains(Int(response.status.code)) else {
                    let body = try await response.body.collect(upTo: HTTPExchange.smallBodyLimit)
                    // 400 and 422 carry the API's JSON error, which says what was wrong with the query.
                    if response.status.code == 400 || response.status.code == 422 {
                        var reader = MatrixStreamReader()
                        try body.withUnsafeReadableBytes { try reader.feed($0) { _ in } }
                        try reader.finish()
                    }
                    throw FederatorError(
                        description: "prometheus answered \(response.status.code) \(response.status.reasonPhrase)" + HTTPExchange.quote(body),
                        retryable: HTTPExchange.isRetryable(response.status))
                }
                var reader = MatrixStreamReader()
                var emitted = 0
                do {
                    for try await chunk in response.body {
                        var complete: [PrometheusSeries] = []
                        try chunk.withUnsafeReadableBytes { try reader.feed($0) { complete.append($0) } }
                        for series in complete {
                            await handle(series)
                            emitted += 1
                        }
                    }
                    try reader.finish()
                } catch let error where emitted > 0 && !(error is CancellationError) {
                    throw FederatorError(description: "\(error) (after \(emitted) series)")
                }
                return emitted
            }
        }
    }

    private func log(_ summary: RunSummary, window: QueryWindow) {
        var metadata: Logger.Metadata = [
            "start": "\(window.start)", "end": "\(window.end)", "step": "\(window.step)s", "series": "\(summary.series)",
        ]
        if let influx = summary.sinks[.influxdb] {
            metadata["written"] = "\(influx.written)"
            metadata["rejected"] = "\(influx.rejected)"
            metadata["unwritten"] = "\(influx.unwritten)"
        }
        if let remote = summary.sinks[.remoteWrite] {
            metadata["remote_write_written"] = "\(remote.written)"
            metadata["remote_write_rejected"] = "\(remote.rejected)"
            metadata["remote_write_unwritten"] = "\(remote.unwritten)"
        }
        metadata["pending_windows"] = "\(summary.pendingWindows)"
        metadata["dropped_evaluations"] = "\(summary.droppedEvaluations)"
        metadata["failures"] = "\(summary.failures.count)"
        logger.info("federation run finished", metadata: metadata)
    }

    static func floorDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
