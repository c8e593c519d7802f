import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import SwiftProtobuf

/// Federated data sets as Prometheus series (docs/federator.md, "Prometheus remote write").
public enum RemoteWriteMapping {
    /// The series name each data set is written under.
    public static func metricName(_ dataSet: DataSet) -> String {
        switch dataSet {
        case .traffic: return "planet_federated_traffic_bits_per_second"
        case .upstream: return "planet_federated_upstream"
        case .downstream: return "planet_federated_downstream"
        }
    }

    /// The labels kept: those the federation query aggregates by, under their Prometheus names.
    public static func labelNames(_ dataSet: DataSet) -> [String] {
        dataSet == .traffic ? FederationQueries.trafficLabels : FederationQueries.dependencyLabels
    }

    /// The labels of one written series, sorted by name with `__name__` first and empty
    /// values left out (an empty label is no label in Prometheus); nil for traffic with a
    /// direction other than ingress or egress, which InfluxDB does not get either.
    public static func labels(_ dataSet: DataSet, series: PrometheusSeries) -> [(name: String, value: String)]? {
        if dataSet == .traffic {
            guard let direction = series.labels["direction"], direction == "ingress" || direction == "egress" else { return nil }
        }
        var labels: [(name: String, value: String)] = [("__name__", metricName(dataSet))]
        for name in labelNames(dataSet).sorted() {
            if let value = series.labels[name], !value.isEmpty { labels.append((name, value)) }
        }
        return labels
    }
}

/// Writes federated series to a Prometheus remote-write receiver (remote write 1.0:
/// protobuf WriteRequest, snappy block compression), at most `batchSize` samples per
/// request, each series' samples in time order.
actor RemoteWriteSink: FederationSink {
    nonisolated let id = SinkID.remoteWrite
    private let url: String
    private let batchSize: Int
    private let userAgent: String
    private let http: HTTPExchange
    private let logger: Logger

    private var pending: [Prometheus_TimeSeries] = []
    private var count = 0
    private var result = SinkResult()

    init(url: String, batchSize: Int, userAgent: String, http: HTTPExchange, logger: Logger) {
        self.url = url
        self.batchSize = max(1, batchSize)
        self.userAgent = userAgent
        self.http = http
        self.logger = logger
    }

    func add(_ series: PrometheusSeries, dataSet: DataSet, deadline: ContinuousClock.Instant) async {
        guard let labels = RemoteWriteMapping.labels(dataSet, series: series) else { return }
        let protoLabels = labels.map { label in
            var proto = Prometheus_Label()
            proto.name = label.name
            proto.value = label.value
            return proto
        }
        var samples = series.samples.filter(\.value.isFinite)[...]
        // A series longer than the room left is split; its parts go out in order.
        while !samples.isEmpty {
            let part = samples.prefix(batchSize - count)
            samples = samples.dropFirst(part.count)
            var timeSeries = Prometheus_TimeSeries()
            timeSeries.labels = protoLabels
            timeSeries.samples = part.map { sample in
                var proto = Prometheus_Sample()
                proto.value = sample.value
                proto.timestamp = sample.timestampMilliseconds
                return proto
            }
            pending.append(timeSeries)
            count += part.count
            if count >= batchSize { await flush(deadline: deadline) }
        }
    }

    func finish(deadline: ContinuousClock.Instant) async -> SinkResult {
        await flush(deadline: deadline)
        defer { result = SinkResult() }
        return result
    }

    /// The request body for `series`: the serialized WriteRequest, snappy-compressed.
    static func body(_ series: [Prometheus_TimeSeries]) throws -> [UInt8] {
        var request = Prometheus_WriteRequest()
        request.timeseries = series
        let encoded: [UInt8] = try request.serializedBytes()
        return Snappy.compress(encoded)
    }

    private func flush(deadline: ContinuousClock.Instant) async {
        guard count > 0 else { return }
        let samples = count
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        count = 0
        do {
            let payload = ByteBuffer(bytes: try Self.body(batch))
            let headers = HTTPHeaders([
                ("Content-Encoding", "snappy"), ("Content-Type", "application/x-protobuf"),
                ("User-Agent", userAgent), ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ])
            let answer = try await http.post(url, headers: headers, body: payload, server: "remote write receiver", deadline: deadline)
            if (200..<300).contains(Int(answer.status.code)) {
                result.written += samples
                return
            }
            // Other answers are final (the spec says not to retry 4xx): a receiver rejects the whole request.
            result.rejected += samples
            let reason = "remote write receiver answered \(answer.status.code) \(answer.status.reasonPhrase)" + HTTPExchange.quote(answer.body)
            result.failures.append(reason)
            logger.error("remote write rejected samples", metadata: ["rejected": "\(samples)", "reason": "\(reason)"])
        } catch {
            result.recordFailure(error, count: samples, writing: "remote write to \(HTTPExchange.origin(url))", logger: logger)
        }
    }
}
