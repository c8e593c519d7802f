import Logging

/// The stores the federator writes to; their raw values name them in the state file.
public enum SinkID: String, Sendable, Codable, CaseIterable, Comparable {
    /// InfluxDB (1.x /write or 2.x /api/v2/write).
    case influxdb
    /// A Prometheus remote-write receiver.
    case remoteWrite = "remote-write"

    public static func < (lhs: SinkID, rhs: SinkID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a sink did with one unit of work (one data set over one window).
public struct SinkResult: Sendable, Equatable {
    /// Points (InfluxDB) or samples (remote write) the store accepted.
    public var written = 0
    /// Points or samples the store refused for good (4xx, the refused part of a partial write).
    public var rejected = 0
    /// Points or samples not written because of a failure that may pass (timeouts, 5xx,
    /// connection problems, shutdown); the window is caught up at a later run.
    public var unwritten = 0
    /// One line per failed batch, for the run summary.
    public var failures: [String] = []
    /// Whether the window must be written again (some batch failed and may succeed later).
    public var needsCatchUp: Bool { unwritten > 0 }

    /// An empty result.
    public init() {}

    mutating func add(_ other: SinkResult) {
        written += other.written
        rejected += other.rejected
        unwritten += other.unwritten
        failures += other.failures
    }
}

extension SinkResult {
    /// Counts a batch of `count` points or samples that failed with `error`: lost for good
    /// when trying again cannot help, kept for catch-up otherwise. Logs one line.
    mutating func recordFailure(_ error: any Error, count: Int, writing what: String, logger: Logger) {
        if let error = error as? FederatorError, !error.retryable {
            rejected += count
            failures.append("\(what): \(error)")
            logger.error("write failed", metadata: ["what": "\(what)", "error": "\(error)", "rejected": "\(count)"])
        } else {
            unwritten += count
            let reason = error is CancellationError ? "stopped by shutdown" : "\(error)"
            failures.append("\(what): \(reason)")
            logger.error("write failed, window kept for catch-up", metadata: ["what": "\(what)", "error": "\(reason)", "unwritten": "\(count)"])
        }
    }
}

/// A store that receives federated series as the Prometheus answer streams in, batches
/// them, and writes each batch when it is full. Memory holds one batch, never a whole run.
protocol FederationSink: Actor {
    /// Which store this is.
    nonisolated var id: SinkID { get }
    /// Buffers the points of `series`, writing full batches before `deadline`.
    func add(_ series: PrometheusSeries, dataSet: DataSet, deadline: ContinuousClock.Instant) async
    /// Writes what is buffered and returns what happened since the previous call.
    func finish(deadline: ContinuousClock.Instant) async -> SinkResult
}
