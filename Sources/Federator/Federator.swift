import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Everything a federation run needs, taken from the command line.
public struct FederatorConfiguration: Sendable {
    /// Prometheus base URL, e.g. http://127.0.0.1:9090.
    public var prometheusAddress: String
    /// InfluxDB address, bucket/database, org and token.
    public var influx: InfluxTarget
    /// Which write API to use, or ask the server.
    public var influxAPI: InfluxAPIChoice
    /// Points per write request.
    public var batchSize: Int
    /// Exclusions and smoothing for the PromQL queries.
    public var queryOptions: QueryOptions
    /// Spacing of evaluations inside a run's window, in seconds.
    public var stepSeconds: Int
    /// Added to the run time to get the window's end (negative: query a little in the
    /// past so the latest scrapes are in Prometheus).
    public var timeOffsetSeconds: Int
    /// A run (queries, retries and writes) is abandoned after this long.
    public var jobTimeout: Duration

    /// A configuration with every setting given.
    public init(
        prometheusAddress: String, influx: InfluxTarget, influxAPI: InfluxAPIChoice, batchSize: Int,
        queryOptions: QueryOptions, stepSeconds: Int, timeOffsetSeconds: Int, jobTimeout: Duration
    ) {
        self.prometheusAddress = prometheusAddress
        self.influx = influx
        self.influxAPI = influxAPI
        self.batchSize = batchSize
        self.queryOptions = queryOptions
        self.stepSeconds = stepSeconds
        self.timeOffsetSeconds = timeOffsetSeconds
        self.jobTimeout = jobTimeout
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
    /// Points written, per measurement.
    public var written: [String: Int] = [:]
    /// Points produced but not written before the run gave up.
    public var unwritten: Int = 0
    /// One line per failure (a data set that could not be queried, a write that failed).
    public var failures: [String] = []

    /// Whether everything queried was also written.
    public var succeeded: Bool { failures.isEmpty }
}

/// A failed exchange with Prometheus or InfluxDB.
public struct FederatorError: Error, CustomStringConvertible {
    /// The one-line reason.
    public let description: String
    /// Whether trying again may help (5xx, connection problems).
    let retryable: Bool
}

/// Runs federation jobs: query Prometheus, turn results into points, write them to InfluxDB.
public actor Federator {
    private let client: HTTPClient
    private let configuration: FederatorConfiguration
    private let logger: Logger
    private var detectedVersion: InfluxAPIVersion?

    /// A federator using `client` for both servers; the caller owns and shuts down the client.
    public init(client: HTTPClient, configuration: FederatorConfiguration, logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// One job: the window ending at `runTime` (Unix seconds) and covering `periodSeconds`.
    /// Never throws: failures are logged and returned so the next run goes on.
    public func run(runTime: Int, periodSeconds: Int) async -> RunSummary {
        let deadline = ContinuousClock.now + configuration.jobTimeout
        let window = QueryWindow(
            runTime: runTime, periodSeconds: periodSeconds,
            stepSeconds: configuration.stepSeconds, offsetSeconds: configuration.timeOffsetSeconds
        )
        var summary = RunSummary()
        var points: [Point] = []
        for dataSet in DataSet.allCases {
            let query = FederationQueries.query(dataSet, options: configuration.queryOptions, stepSeconds: window.step)
            do {
                let series = try await queryRange(query, window: window, deadline: deadline)
                let mapped = PointMapping.points(dataSet, series: series)
                logger.debug("queried prometheus", metadata: [
                    "dataset": "\(dataSet.rawValue)", "series": "\(series.count)", "points": "\(mapped.count)",
                ])
                points += mapped
            } catch {
                let line = "query \(dataSet.rawValue) from prometheus at \(configuration.prometheusAddress): \(error)"
                logger.error("federation query failed", metadata: ["dataset": "\(dataSet.rawValue)", "error": "\(error)"])
                summary.failures.append(line)
            }
        }
        var remaining = points[...]
        do {
            if !points.isEmpty {
                let version = try await writeVersion(deadline: deadline)
                for body in LineProtocol.batches(points, batchSize: configuration.batchSize) {
                    let count = min(max(1, configuration.batchSize), remaining.count)
                    try await write(body, version: version, deadline: deadline)
                    for point in remaining.prefix(count) { summary.written[point.measurement, default: 0] += 1 }
                    remaining = remaining.dropFirst(count)
                }
            }
        } catch {
            summary.unwritten = remaining.count
            summary.failures.append("write to influxdb at \(configuration.influx.address): \(error)")
            logger.error("influxdb write failed, points dropped", metadata: [
                "error": "\(error)", "unwritten": "\(remaining.count)",
            ])
        }
        let total = summary.written.values.reduce(0, +)
        logger.info("federation run finished", metadata: [
            "start": "\(window.start)", "end": "\(window.end)", "step": "\(window.step)s",
            "written": "\(total)", "unwritten": "\(summary.unwritten)", "failures": "\(summary.failures.count)",
        ])
        return summary
    }

    private func queryRange(_ query: String, window: QueryWindow, deadline: ContinuousClock.Instant) async throws -> [PrometheusSeries] {
        let base = configuration.prometheusAddress.hasSuffix("/")
            ? String(configuration.prometheusAddress.dropLast()) : configuration.prometheusAddress
        let url = base + "/api/v1/query_range?query=" + percentEncode(query)
            + "&start=\(window.start)&end=\(window.end)&step=\(window.step)"
        let body = try await withRetries("prometheus query_range", deadline: deadline) { timeout in
            try await self.exchange(HTTPClientRequest(url: url), timeout: timeout, server: "prometheus", acceptErrorBody: true)
        }
        return try PrometheusMatrix.parse(Data(body.readableBytesView))
    }

    private func writeVersion(deadline: ContinuousClock.Instant) async throws -> InfluxAPIVersion {
        switch configuration.influxAPI {
        case .v1: return .v1
        case .v2: return .v2
        case .auto:
            if let detectedVersion { return detectedVersion }
            let header = try await withRetries("influxdb ping", deadline: deadline) { timeout in
                try await self.ping(timeout: timeout)
            }
            guard let version = InfluxAPIVersion.fromVersionHeader(header) else {
                throw FederatorError(
                    description: "cannot tell the InfluxDB version from /ping (X-Influxdb-Version: \(header ?? "missing")); set -influxdb-api v1 or v2",
                    retryable: false)
            }
            logger.info("detected influxdb write api", metadata: ["version": "\(header ?? "")", "api": "\(version.rawValue)"])
            detectedVersion = version
            return version
        }
    }

    private func ping(timeout: Duration) async throws -> String? {
        var request = HTTPClientRequest(url: configuration.influx.pingURL)
        if let authorization = configuration.influx.authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await execute(request, timeout: timeout, server: "influxdb")
        _ = try? await response.body.collect(upTo: 1 << 16)
        try Self.check(response.status, body: nil, server: "influxdb")
        return response.headers.first(name: "X-Influxdb-Version")
    }

    private func write(_ body: String, version: InfluxAPIVersion, deadline: ContinuousClock.Instant) async throws {
        let target = configuration.influx
        _ = try await withRetries("influxdb write", deadline: deadline) { timeout in
            var request = HTTPClientRequest(url: target.writeURL(version))
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            if let authorization = target.authorization { request.headers.add(name: "Authorization", value: authorization) }
            request.body = .bytes(ByteBuffer(string: body))
            return try await self.exchange(request, timeout: timeout, server: "influxdb", acceptErrorBody: false)
        }
    }

    /// Sends a request and returns the body of a 2xx answer; other statuses become errors
    /// quoting the server's message. Prometheus's 4xx bodies are its JSON error, which
    /// `acceptErrorBody` passes on so the parser reports it.
    private func exchange(_ request: HTTPClientRequest, timeout: Duration, server: String, acceptErrorBody: Bool) async throws -> ByteBuffer {
        let response = try await execute(request, timeout: timeout, server: server)
        let body = try await response.body.collect(upTo: 256 << 20)
        if acceptErrorBody, (400..<500).contains(Int(response.status.code)), response.status.code != 404 {
            return body
        }
        try Self.check(response.status, body: body, server: server)
        return body
    }

    private func execute(_ request: HTTPClientRequest, timeout: Duration, server: String) async throws -> HTTPClientResponse {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        do {
            return try await client.execute(request, timeout: .nanoseconds(max(1, nanoseconds)))
        } catch let error as CancellationError {
            throw error
        } catch {
            throw FederatorError(description: "cannot reach \(server) at \(Self.origin(request.url)): \(error)", retryable: true)
        }
    }

    /// scheme://host:port of a URL, so errors do not quote whole encoded queries.
    static func origin(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        return String(url[..<schemeEnd.upperBound]) + String(rest.prefix(while: { $0 != "/" && $0 != "?" }))
    }

    private static func check(_ status: HTTPResponseStatus, body: ByteBuffer?, server: String) throws {
        guard !(200..<300).contains(Int(status.code)) else { return }
        var message = body.map { String(buffer: $0) } ?? ""
        message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        if message.count > 300 { message = String(message.prefix(300)) + "..." }
        throw FederatorError(
            description: "\(server) answered \(status.code) \(status.reasonPhrase)" + (message.isEmpty ? "" : ": " + message),
            retryable: status.code >= 500 || status.code == 429)
    }

    /// Retries `operation` with exponential backoff (250 ms doubling to 5 s) while it fails
    /// with a retryable error and the deadline allows; each attempt gets the time left.
    private func withRetries<T: Sendable>(
        _ what: String, deadline: ContinuousClock.Instant,
        _ operation: @Sendable (Duration) async throws -> T
    ) async throws -> T {
        var delay = Duration.milliseconds(250)
        var attempt = 0
        while true {
            attempt += 1
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw FederatorError(description: "\(what): not attempted, the job timeout (-cron-job-timeout-second) was reached", retryable: false)
            }
            do {
                // The HTTP client retries refused connections until the request's deadline,
                // so one attempt is capped well below the job timeout to leave room for more.
                return try await operation(min(left, .seconds(10)))
            } catch let error as FederatorError where error.retryable {
                if ContinuousClock.now + delay >= deadline {
                    throw FederatorError(description: "\(error) (gave up after \(attempt) attempts: job timeout)", retryable: false)
                }
                logger.warning("retrying", metadata: ["what": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
