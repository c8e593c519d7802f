import AsyncHTTPClient
import Crypto
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The two analyses planet-federator-influxdb-to-bq runs over the federated InfluxDB data.
public enum BigQueryAnalysis: String, Sendable, CaseIterable {
    /// Hourly: min, max and mean bits/s per direction and pair of hostgroups over the last hour.
    case traffic
    /// Daily: every upstream and downstream dependency seen in the last 7 days.
    case dependency

    /// How far back the analysis reads, in seconds.
    public var rangeSeconds: Int {
        switch self {
        case .traffic: return 3600
        case .dependency: return 7 * 86_400
        }
    }
}

/// The tables' columns, as the Go original's tables have them.
public enum BigQueryTables {
    /// One row per direction and pair of hostgroups per hour.
    public static let traffic: [BigQueryField] = [
        BigQueryField(name: "inventory_date", type: "DATETIME", mode: "REQUIRED", description: "End of the hour summarised (UTC)."),
        BigQueryField(name: "traffic_direction", type: "STRING", mode: "REQUIRED", description: "ingress or egress, seen from the local hostgroup."),
        BigQueryField(name: "local_hostgroup", type: "STRING", mode: "REQUIRED", description: "Hostgroup of the machines that measured the traffic."),
        BigQueryField(name: "local_hostgroup_address", type: "STRING", mode: "NULLABLE", description: "Address (usually a domain) of the local hostgroup."),
        BigQueryField(name: "remote_hostgroup", type: "STRING", mode: "REQUIRED", description: "Hostgroup of the peers; empty when the inventory does not know them."),
        BigQueryField(name: "remote_hostgroup_address", type: "STRING", mode: "NULLABLE", description: "Address (usually a domain) of the remote hostgroup."),
        BigQueryField(name: "traffic_bandwidth_bits_min_1h", type: "INTEGER", mode: "REQUIRED", description: "Lowest bandwidth of the hour, bits per second."),
        BigQueryField(name: "traffic_bandwidth_bits_max_1h", type: "INTEGER", mode: "REQUIRED", description: "Highest bandwidth of the hour, bits per second."),
        BigQueryField(name: "traffic_bandwidth_bits_avg_1h", type: "INTEGER", mode: "REQUIRED", description: "Mean bandwidth of the hour, bits per second."),
    ]

    /// One row per dependency seen in the last 7 days, per day.
    public static let dependency: [BigQueryField] = [
        BigQueryField(name: "inventory_date", type: "DATETIME", mode: "REQUIRED", description: "End of the 7 days read (UTC)."),
        BigQueryField(name: "dependency_direction", type: "STRING", mode: "REQUIRED", description: "upstream (a service the local hostgroup calls) or downstream (a client calling it)."),
        BigQueryField(name: "protocol", type: "STRING", mode: "REQUIRED", description: "tcp or udp."),
        BigQueryField(name: "local_hostgroup_process_name", type: "STRING", mode: "NULLABLE", description: "Local process that owns the connection."),
        BigQueryField(name: "local_hostgroup", type: "STRING", mode: "REQUIRED", description: "Hostgroup of the machines that saw the dependency."),
        BigQueryField(name: "local_hostgroup_address", type: "STRING", mode: "NULLABLE", description: "Address (usually a domain) of the local hostgroup."),
        BigQueryField(name: "local_hostgroup_address_port", type: "STRING", mode: "NULLABLE", description: "Local port the downstream connects to; null for upstream rows."),
        BigQueryField(name: "remote_hostgroup", type: "STRING", mode: "REQUIRED", description: "Hostgroup of the peer; empty when the inventory does not know it."),
        BigQueryField(name: "remote_hostgroup_address", type: "STRING", mode: "NULLABLE", description: "Address of the peer: its domain, or its IP."),
        BigQueryField(name: "remote_hostgroup_address_port", type: "STRING", mode: "NULLABLE", description: "Port of the upstream service; null for downstream rows."),
    ]

    /// The columns of `analysis`'s table.
    public static func fields(_ analysis: BigQueryAnalysis) -> [BigQueryField] {
        analysis == .traffic ? traffic : dependency
    }
}

/// InfluxQL over the federator's measurements (see docs/federator.md for their tags).
public enum BigQueryExportQueries {
    /// Min, max and mean bandwidth per direction and pair of hostgroups over the hour ending
    /// at `end` (Unix seconds). One row per series: no GROUP BY time.
    public static func traffic(end: Int) -> String {
        "SELECT MIN(\"bandwidth_bps\"), MAX(\"bandwidth_bps\"), MEAN(\"bandwidth_bps\") FROM \"ingress\", \"egress\""
            + window(end: end, seconds: BigQueryAnalysis.traffic.rangeSeconds)
            + " GROUP BY \"service\", \"address\", \"remote_service\", \"remote_address\""
    }

    /// Every tag set of `measurement` (upstream or downstream) seen in the 7 days ending at `end`.
    public static func dependency(_ measurement: String, end: Int) -> String {
        let tags = measurement == "upstream"
            ? ["service", "address", "upstream_service", "upstream_address", "process_name", "upstream_port", "protocol"]
            : ["service", "address", "downstream_service", "downstream_address", "process_name", "port", "protocol"]
        return "SELECT COUNT(\"service_dependency\") FROM \"\(measurement)\""
            + window(end: end, seconds: BigQueryAnalysis.dependency.rangeSeconds)
            + " GROUP BY " + tags.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    private static func window(end: Int, seconds: Int) -> String {
        " WHERE \"service\" != '' AND time > \(end - seconds)s AND time <= \(end)s"
    }
}

/// InfluxDB series to BigQuery rows, with the Go original's columns and NULLs.
public enum BigQueryExportRows {
    /// A DATETIME literal of a Unix time, in UTC: "2024-01-02T03:04:05".
    public static func inventoryDate(_ unixSeconds: Int) -> String {
        var clock = time_t(unixSeconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// Traffic rows; a series whose min, max or mean is not a number is skipped and counted.
    /// Bits/s are truncated to integers, as the original did.
    public static func traffic(_ series: [InfluxSeries], table: String, inventoryDate: String) -> (rows: [BigQueryRow], skipped: Int) {
        var rows: [BigQueryRow] = []
        var skipped = 0
        for one in series {
            for index in one.values.indices {
                guard let low = integer(one.value("min", row: index)), let high = integer(one.value("max", row: index)),
                      let mean = integer(one.value("mean", row: index)) else {
                    skipped += 1
                    continue
                }
                let key = [one.name, tag(one, "service"), tag(one, "address"), tag(one, "remote_service"), tag(one, "remote_address")]
                rows.append(BigQueryRow(insertID: insertID(table: table, inventoryDate: inventoryDate, key: key), cells: [
                    BigQueryCell("inventory_date", .string(inventoryDate)),
                    BigQueryCell("traffic_direction", .string(one.name)),
                    BigQueryCell("local_hostgroup", .string(key[1])),
                    BigQueryCell("local_hostgroup_address", nullable(key[2])),
                    BigQueryCell("remote_hostgroup", .string(key[3])),
                    BigQueryCell("remote_hostgroup_address", nullable(key[4])),
                    BigQueryCell("traffic_bandwidth_bits_min_1h", .integer(low)),
                    BigQueryCell("traffic_bandwidth_bits_max_1h", .integer(high)),
                    BigQueryCell("traffic_bandwidth_bits_avg_1h", .integer(mean)),
                ]))
            }
        }
        return (rows, skipped)
    }

    /// Dependency rows, one per series with at least one point; the series' measurement
    /// (upstream or downstream) is the direction.
    public static func dependency(_ series: [InfluxSeries], table: String, inventoryDate: String) -> (rows: [BigQueryRow], skipped: Int) {
        var rows: [BigQueryRow] = []
        var skipped = 0
        for one in series {
            let seen = one.values.indices.contains { (one.value("count", row: $0).number ?? 0) > 0 }
            guard seen, one.name == "upstream" || one.name == "downstream" else {
                skipped += 1
                continue
            }
            let upstream = one.name == "upstream"
            let remote = tag(one, upstream ? "upstream_service" : "downstream_service")
            let remoteAddress = tag(one, upstream ? "upstream_address" : "downstream_address")
            // Only a downstream has a local service port; only an upstream a remote one.
            let localPort = upstream ? "" : tag(one, "port")
            let remotePort = upstream ? tag(one, "upstream_port") : ""
            let key = [one.name, tag(one, "protocol"), tag(one, "process_name"), tag(one, "service"), tag(one, "address"),
                       localPort, remote, remoteAddress, remotePort]
            rows.append(BigQueryRow(insertID: insertID(table: table, inventoryDate: inventoryDate, key: key), cells: [
                BigQueryCell("inventory_date", .string(inventoryDate)),
                BigQueryCell("dependency_direction", .string(one.name)),
                BigQueryCell("protocol", .string(key[1])),
                BigQueryCell("local_hostgroup_process_name", nullable(key[2])),
                BigQueryCell("local_hostgroup", .string(key[3])),
                BigQueryCell("local_hostgroup_address", nullable(key[4])),
                BigQueryCell("local_hostgroup_address_port", nullable(localPort)),
                BigQueryCell("remote_hostgroup", .string(remote)),
                BigQueryCell("remote_hostgroup_address", nullable(remoteAddress)),
                BigQueryCell("remote_hostgroup_address_port", nullable(remotePort)),
            ]))
        }
        return (rows, skipped)
    }

    /// The same row of the same run gets the same id, so BigQuery drops the copy a retried
    /// request sends: SHA-256 of the table, the inventory date and the row's key columns.
    public static func insertID(table: String, inventoryDate: String, key: [String]) -> String {
        var hasher = SHA256()
        for part in [table, inventoryDate] + key {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func tag(_ series: InfluxSeries, _ name: String) -> String { series.tags[name] ?? "" }

    private static func nullable(_ text: String) -> BigQueryValue { text.isEmpty ? .null : .string(text) }

    private static func integer(_ value: InfluxValue) -> Int64? {
        guard let number = value.number, abs(number) < 9.2e18 else { return nil }
        return Int64(number.rounded(.towardZero))
    }
}

/// Everything an export run needs, taken from the command line.
public struct BigQueryExportConfiguration: Sendable {
    /// Where the federated data is read.
    public var influx: InfluxQueryTarget
    /// Where the tables are.
    public var bigQuery: BigQueryTarget
    /// Table of the hourly traffic analysis.
    public var trafficTableID: String
    /// Table of the daily dependency analysis.
    public var dependencyTableID: String
    /// Added to the run time to get the end of the window read (negative reads the past).
    public var timeOffsetSeconds: Int
    /// A run (queries, token, inserts and retries) is abandoned after this long.
    public var jobTimeout: Duration
    /// Rows InfluxDB sends per chunk.
    public var influxChunkSize: Int
    /// Limits of one insertAll request.
    public var maxRowsPerRequest: Int
    public var maxBytesPerRequest: Int

    /// A configuration with every setting given.
    public init(
        influx: InfluxQueryTarget, bigQuery: BigQueryTarget, trafficTableID: String, dependencyTableID: String,
        timeOffsetSeconds: Int, jobTimeout: Duration, influxChunkSize: Int = 10_000,
        maxRowsPerRequest: Int = InsertAllBatcher.defaultMaxRows, maxBytesPerRequest: Int = InsertAllBatcher.defaultMaxBytes
    ) {
        self.influx = influx
        self.bigQuery = bigQuery
        self.trafficTableID = trafficTableID
        self.dependencyTableID = dependencyTableID
        self.timeOffsetSeconds = timeOffsetSeconds
        self.jobTimeout = jobTimeout
        self.influxChunkSize = influxChunkSize
        self.maxRowsPerRequest = maxRowsPerRequest
        self.maxBytesPerRequest = maxBytesPerRequest
    }

    /// The table `analysis` writes to.
    public func tableID(_ analysis: BigQueryAnalysis) -> String {
        analysis == .traffic ? trafficTableID : dependencyTableID
    }
}

/// What one export run did.
public struct ExportSummary: Sendable, Equatable {
    /// Rows BigQuery accepted.
    public var inserted = 0
    /// Rows made from the query but not written before the run failed.
    public var unwritten = 0
    /// Series left out because a value was missing.
    public var skipped = 0
    /// Insert requests sent.
    public var requests = 0
    /// One line per failure.
    public var failures: [String] = []

    /// Whether everything read was written.
    public var succeeded: Bool { failures.isEmpty }
}

/// Runs the analyses: read InfluxDB, write BigQuery, as rows stream in.
public actor BigQueryExporter {
    private let configuration: BigQueryExportConfiguration
    private let influx: InfluxQueryClient
    private let bigQuery: BigQueryClient
    private let logger: Logger

    /// An exporter using `client` (owned by the caller) for InfluxDB, the token endpoint and BigQuery.
    public init(client: HTTPClient, configuration: BigQueryExportConfiguration, credentials: BigQueryCredentials, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        influx = InfluxQueryClient(client: client, target: configuration.influx, chunkSize: configuration.influxChunkSize, logger: logger)
        let tokens = AccessTokenProvider(credentials: credentials, client: client, logger: logger)
        bigQuery = BigQueryClient(client: client, target: configuration.bigQuery, tokens: tokens, logger: logger)
    }

    /// How long after the job timeout a job still running is cancelled.
    static let stallGrace = Duration.seconds(2)

    /// One run of `analysis` for the window ending at `runTime` plus the offset. Never
    /// throws: failures are logged and returned so the next run goes on. Shortly after
    /// the job timeout whatever is still in flight is cancelled, a stalled answer included.
    public func run(_ analysis: BigQueryAnalysis, runTime: Int) async -> ExportSummary {
        let started = ContinuousClock.now
        let deadline = started + configuration.jobTimeout
        let end = runTime + configuration.timeOffsetSeconds
        let inventoryDate = BigQueryExportRows.inventoryDate(end)
        let table = configuration.bigQuery.tableName(configuration.tableID(analysis))
        let summary = await withTaskGroup(of: ExportSummary?.self) { group in
            group.addTask { await self.export(analysis, end: end, inventoryDate: inventoryDate, deadline: deadline) }
            group.addTask {
                // Each request is already bounded by the deadline and fails with its own
                // reason; this catches what is not (an answer stalling mid-body), a little later.
                try? await Task.sleep(until: deadline + Self.stallGrace, clock: .continuous)
                return nil
            }
            var finished: ExportSummary?
            for await result in group {
                group.cancelAll()
                if let result {
                    finished = result
                    break
                }
            }
            return finished ?? ExportSummary()
        }
        let elapsed = ContinuousClock.now - started
        logger.info("bigquery export finished", metadata: [
            "analysis": "\(analysis.rawValue)", "table": "\(table)", "inventory_date": "\(inventoryDate)",
            "inserted": "\(summary.inserted)", "unwritten": "\(summary.unwritten)", "skipped": "\(summary.skipped)",
            "requests": "\(summary.requests)", "failures": "\(summary.failures.count)",
            "took": "\(elapsed.components.seconds)s",
        ])
        return summary
    }

    private func export(_ analysis: BigQueryAnalysis, end: Int, inventoryDate: String, deadline: ContinuousClock.Instant) async -> ExportSummary {
        let tableID = configuration.tableID(analysis)
        let table = configuration.bigQuery.tableName(tableID)
        var summary = ExportSummary()
        var batcher = InsertAllBatcher(maxRows: configuration.maxRowsPerRequest, maxBytes: configuration.maxBytesPerRequest)

        do {
            try await bigQuery.prepareTable(tableID, fields: BigQueryTables.fields(analysis), deadline: deadline)
            let statements = analysis == .traffic
                ? [BigQueryExportQueries.traffic(end: end)]
                : ["upstream", "downstream"].map { BigQueryExportQueries.dependency($0, end: end) }
            for statement in statements {
                try await influx.query(statement, deadline: deadline) { series in
                    let (rows, skipped) = analysis == .traffic
                        ? BigQueryExportRows.traffic(series, table: table, inventoryDate: inventoryDate)
                        : BigQueryExportRows.dependency(series, table: table, inventoryDate: inventoryDate)
                    summary.skipped += skipped
                    for (index, row) in rows.enumerated() {
                        let full: InsertAllBatch?
                        do {
                            full = try batcher.add(row.json)
                        } catch {
                            summary.unwritten += rows.count - index
                            throw error
                        }
                        guard let full else { continue }
                        do {
                            try await send(full, to: tableID, deadline: deadline, summary: &summary)
                        } catch {
                            // The rows after this one were not handed to the batcher yet.
                            summary.unwritten += rows.count - index - 1
                            throw error
                        }
                    }
                }
            }
            if let last = batcher.flush() { try await send(last, to: tableID, deadline: deadline, summary: &summary) }
        } catch {
            summary.unwritten += batcher.flush()?.rows ?? 0
            var line = "\(error)"
            if error is CancellationError || Task.isCancelled {
                line = "abandoned at the job timeout (-cron-job-timeout-second \(configuration.jobTimeout.components.seconds)) after \(summary.inserted) rows"
            }
            summary.failures.append(line)
            logger.error("bigquery export failed", metadata: ["analysis": "\(analysis.rawValue)", "table": "\(table)", "error": "\(line)"])
        }
        return summary
    }

    private func send(_ batch: InsertAllBatch, to tableID: String, deadline: ContinuousClock.Instant, summary: inout ExportSummary) async throws {
        do {
            try await bigQuery.insertAll(tableID, batch: batch, deadline: deadline)
        } catch {
            summary.unwritten += batch.rows
            throw error
        }
        summary.inserted += batch.rows
        summary.requests += 1
    }
}
