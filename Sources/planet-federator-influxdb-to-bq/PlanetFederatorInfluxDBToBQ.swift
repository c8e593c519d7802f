import ArgumentParser
import AsyncHTTPClient
import CommandLineSupport
import Diagnostics
import Federator
import Foundation
import Logging
import ServiceLifecycle

/// planet-federator-influxdb-to-bq: summarises the federated InfluxDB data into two
/// BigQuery tables on cron schedules, with the Go original's flags.
@main
struct PlanetFederatorInfluxDBToBQ: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planet-federator-influxdb-to-bq",
        abstract: "Summarises planet-federator's InfluxDB data into BigQuery: hourly traffic and daily dependency tables.",
        discussion: """
            Flags take one dash or two; booleans also accept -flag=true/false, as Go programs do.
            Credentials: a service-account key file named by -bq-credentials-file or \
            GOOGLE_APPLICATION_CREDENTIALS, else the GCE metadata server; -bq-auth none for an emulator.
            """
    )

    @Option(name: .customLong("cron-job-schedule-traffic"), help: "Cron schedule (second minute hour day-of-month month day-of-week) of the hourly traffic analysis.")
    var cronJobScheduleTraffic = "30 0 * * * *"

    @Option(name: .customLong("cron-job-schedule-dependency"), help: "Cron schedule of the daily dependency analysis (last 7 days).")
    var cronJobScheduleDependency = "30 0 11 * * *"

    @Option(name: .customLong("cron-job-timeout-second"), help: "Seconds a job (queries, token, inserts, retries) may take before it is abandoned.")
    var cronJobTimeoutSecond = 300

    @Option(name: .customLong("cron-job-time-offset"), help: "Added to each job's time to get the end of the window read; e.g. -1h5m reads the past.")
    var cronJobTimeOffset = GoDuration(nanoseconds: 0)

    @Option(name: .customLong("influxdb-addr"), help: "InfluxDB 1.x base URL holding planet-federator's data.")
    var influxdbAddr = "http://127.0.0.1:8086"

    @Option(name: .customLong("influxdb-username"), help: "InfluxDB user name; empty for none.")
    var influxdbUsername = ""

    @Option(name: .customLong("influxdb-password"), help: "InfluxDB password.")
    var influxdbPassword = ""

    @Option(name: .customLong("influxdb-password-file"), help: "File holding the -influxdb-password value (one line), read at start; keeps it off the command line (e.g. a systemd credential: %d/influxdb-password).")
    var influxdbPasswordFile = ""

    private var influxdbPasswordFlag: SecretFlag {
        SecretFlag(name: "influxdb-password", value: influxdbPassword, file: influxdbPasswordFile)
    }

    @Option(name: .customLong("influxdb-database"), help: "InfluxDB database planet-federator writes to.")
    var influxdbDatabase = "mothership"

    @Option(name: .customLong("bq-project-id"), help: "BigQuery project of the dataset (default: the service-account key's project).")
    var bqProjectID = ""

    @Option(name: .customLong("bq-dataset-id"), help: "BigQuery dataset holding both tables; it must exist.")
    var bqDatasetID = ""

    @Option(name: .customLong("bq-traffic-table-id"), help: "Table of the hourly traffic analysis; created when missing.")
    var bqTrafficTableID = "planet_exporter_traffic"

    @Option(name: .customLong("bq-dependency-table-id"), help: "Table of the daily dependency analysis; created when missing.")
    var bqDependencyTableID = "planet_exporter_dependency"

    @Option(name: .customLong("bq-endpoint"), help: "BigQuery API base URL (an emulator's, for tests).")
    var bqEndpoint = BigQueryTarget.defaultEndpoint

    @Option(name: .customLong("bq-auth"), help: "auto (key file if named, else the GCE metadata server), service-account, metadata or none.")
    var bqAuth = BigQueryAuthMode.auto

    @Option(name: .customLong("bq-credentials-file"), help: "Service-account key file (default: $GOOGLE_APPLICATION_CREDENTIALS).")
    var bqCredentialsFile = ""

    @Option(name: .customLong("bq-batch-size"), help: "Rows per insertAll request (at most 50000; requests also stay under 9 MB).")
    var bqBatchSize = InsertAllBatcher.defaultMaxRows

    @Flag(name: .customLong("once"), inversion: .prefixedNo, help: "Run the traffic and the dependency job once for the window ending now, then exit (status 1 if one failed).")
    var once = false

    @OptionGroup var log: LogOptions

    @Flag(name: .customLong("version"), inversion: .prefixedNo, help: "Show version and exit.")
    var showVersion = false

    static func main() async {
        await mainWithGoFlags()
    }

    func validate() throws {
        if showVersion { return }
        do { try influxdbPasswordFlag.validate() } catch { throw ValidationError(error.description) }
        for (flag, expression) in [("-cron-job-schedule-traffic", cronJobScheduleTraffic), ("-cron-job-schedule-dependency", cronJobScheduleDependency)] {
            do { _ = try CronSchedule(expression) } catch { throw ValidationError("\(flag): \(error)") }
        }
        guard cronJobTimeoutSecond > 0 else { throw ValidationError("-cron-job-timeout-second must be positive") }
        guard (1...50_000).contains(bqBatchSize) else { throw ValidationError("-bq-batch-size must be between 1 and 50000, the API's limit") }
        guard !bqDatasetID.isEmpty else { throw ValidationError("-bq-dataset-id is required: the BigQuery dataset that holds the tables") }
        for (flag, table) in [("-bq-traffic-table-id", bqTrafficTableID), ("-bq-dependency-table-id", bqDependencyTableID)] where table.isEmpty {
            throw ValidationError("\(flag) must not be empty")
        }
        for address in [influxdbAddr, bqEndpoint] where !(address.hasPrefix("http://") || address.hasPrefix("https://")) {
            throw ValidationError("address \"\(redactedURL(address))\" must start with http:// or https://")
        }
    }

    func run() async throws {
        if showVersion {
            print("planet-federator-influxdb-to-bq \(BuildInfo.version) (revision \(BuildInfo.revision))")
            return
        }
        try log.bootstrap()
        let logger = Logger(label: "planet-federator-influxdb-to-bq")
        let credentials: BigQueryCredentials
        let influxdbPassword: String
        do {
            influxdbPassword = try influxdbPasswordFlag.resolve()
            credentials = try BigQueryCredentials.resolve(
                mode: bqAuth, credentialsFile: bqCredentialsFile, environment: ProcessInfo.processInfo.environment)
        } catch {
            // As the original's log.Fatalf: one fatal line, exit status 1.
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        var project = bqProjectID
        if project.isEmpty, case .serviceAccount(let key) = credentials { project = key.projectID }
        guard !project.isEmpty else {
            throw ValidationError("-bq-project-id is required: the Google Cloud project of dataset \(bqDatasetID)")
        }
        let configuration = BigQueryExportConfiguration(
            influx: InfluxQueryTarget(address: influxdbAddr, database: influxdbDatabase, username: influxdbUsername, password: influxdbPassword),
            bigQuery: BigQueryTarget(endpoint: bqEndpoint, projectID: project, datasetID: bqDatasetID),
            trafficTableID: bqTrafficTableID, dependencyTableID: bqDependencyTableID,
            timeOffsetSeconds: Int(cronJobTimeOffset.nanoseconds / 1_000_000_000),
            jobTimeout: .seconds(cronJobTimeoutSecond),
            maxRowsPerRequest: bqBatchSize
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let exporter = BigQueryExporter(client: client, configuration: configuration, credentials: credentials, logger: logger)
        logger.info("planet-federator-influxdb-to-bq started", metadata: [
            "version": "\(BuildInfo.version)", "influxdb": "\(redactedURL(influxdbAddr))", "database": "\(influxdbDatabase)",
            "dataset": "\(configuration.bigQuery.datasetName)", "endpoint": "\(redactedURL(bqEndpoint))", "credentials": "\(credentials.summary)",
        ])
        var failed = false
        if once {
            let now = Int(Date().timeIntervalSince1970)
            for analysis in BigQueryAnalysis.allCases {
                let summary = await exporter.run(analysis, runTime: now)
                failed = failed || !summary.succeeded
            }
        } else {
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            for (analysis, expression) in [(BigQueryAnalysis.traffic, cronJobScheduleTraffic), (.dependency, cronJobScheduleDependency)] {
                let service = CronJobService(name: "\(analysis.rawValue) job", schedule: try CronSchedule(expression), logger: logger) { runTime, _ in
                    _ = await exporter.run(analysis, runTime: runTime)
                }
                // A schedule that never fires again ends its own service only.
                services.append(.init(service: service, successTerminationBehavior: .ignore))
            }
            let group = ServiceGroup(configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch {
                logger.error("planet-federator-influxdb-to-bq failed", metadata: ["error": "\(error)"])
                failed = true
            }
        }
        try await client.shutdown()
        if failed { throw ExitCode.failure }
    }
}

extension BigQueryAuthMode: ExpressibleByArgument {}
