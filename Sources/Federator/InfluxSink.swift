import AsyncHTTPClient
import Diagnostics
import Logging
import NIOCore
import NIOHTTP1

/// Writes federated series to InfluxDB as line protocol, in batches of at most
/// `batchSize` points, asking `/ping` once which write API the server speaks.
actor InfluxSink: FederationSink {
    nonisolated let id = SinkID.influxdb
    private let target: InfluxTarget
    private let choice: InfluxAPIChoice
    private let batchSize: Int
    private let http: HTTPExchange
    private let logger: Logger
    private var detected: InfluxAPIVersion?

    private var body: [UInt8] = []
    private var count = 0
    private var result = SinkResult()

    init(target: InfluxTarget, choice: InfluxAPIChoice, batchSize: Int, http: HTTPExchange, logger: Logger) {
        self.target = target
        self.choice = choice
        self.batchSize = max(1, batchSize)
        self.http = http
        self.logger = logger
    }

    func add(_ series: PrometheusSeries, dataSet: DataSet, deadline: ContinuousClock.Instant) async {
        await add(points: PointMapping.points(dataSet, series: [series]), deadline: deadline)
    }

    /// Buffers `points`, writing full batches before `deadline`.
    func add(points: [Point], deadline: ContinuousClock.Instant) async {
        for point in points {
            LineProtocol.append(point, to: &body)
            count += 1
            if count >= batchSize { await flush(deadline: deadline) }
        }
    }

    func finish(deadline: ContinuousClock.Instant) async -> SinkResult {
        await flush(deadline: deadline)
        defer { result = SinkResult() }
        return result
    }

    /// Writes the buffered batch. A batch that fails is counted and the next one is still
    /// tried: one bad batch never drops the rest of a run.
    private func flush(deadline: ContinuousClock.Instant) async {
        guard count > 0 else { return }
        let points = count
        let payload = ByteBuffer(bytes: body)
        body.removeAll(keepingCapacity: true)
        count = 0
        do {
            let version = try await writeVersion(deadline: deadline)
            var headers = HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")])
            if let authorization = target.authorization { headers.add(name: "Authorization", value: authorization) }
            let answer = try await http.post(target.writeURL(version), headers: headers, body: payload, server: "influxdb", deadline: deadline)
            if (200..<300).contains(Int(answer.status.code)) {
                result.written += points
                return
            }
            let rejection = InfluxRejection(status: Int(answer.status.code), body: String(buffer: answer.body), batchPoints: points)
            result.written += points - rejection.rejected
            result.rejected += rejection.rejected
            let line = "influxdb refused \(rejection.rejected) of \(points) points (\(answer.status.code)): \(rejection.reason.prefix(500))"
            result.failures.append(line)
            logger.error("influxdb rejected points", metadata: [
                "rejected": "\(rejection.rejected)", "written": "\(points - rejection.rejected)",
                "status": "\(answer.status.code)", "reason": "\(rejection.reason.prefix(500))",
            ])
        } catch {
            result.recordFailure(error, count: points, writing: "write to influxdb at \(redactedURL(target.address))", logger: logger)
        }
    }

    private func writeVersion(deadline: ContinuousClock.Instant) async throws -> InfluxAPIVersion {
        switch choice {
        case .v1: return .v1
        case .v2: return .v2
        case .auto:
            if let detected { return detected }
            let answer = try await http.withRetries("influxdb ping", deadline: deadline) { attemptDeadline in
                var request = HTTPClientRequest(url: target.pingURL)
                if let authorization = target.authorization { request.headers.add(name: "Authorization", value: authorization) }
                let answer = try await http.send(request, server: "influxdb", deadline: attemptDeadline)
                try HTTPExchange.check(answer, server: "influxdb")
                return answer
            }
            let header = answer.headers.first(name: "X-Influxdb-Version")
            guard let version = InfluxAPIVersion.fromVersionHeader(header) else {
                throw FederatorError(
                    description: "cannot tell the InfluxDB version from /ping (X-Influxdb-Version: \(header ?? "missing")); set -influxdb-api v1 or v2")
            }
            logger.info("detected influxdb write api", metadata: ["version": "\(header ?? "")", "api": "\(version.rawValue)"])
            detected = version
            return version
        }
    }
}
