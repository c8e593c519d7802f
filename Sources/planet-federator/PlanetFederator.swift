import ArgumentParser
import AsyncHTTPClient
import CommandLineSupport
import Diagnostics
import Exposition
import Federator
import Foundation
import Hummingbird
import Listener
import Logging
import ServiceLifecycle
import Synchronization
import WebFlags

/// planet-federator: copies planet-exporter data from Prometheus into InfluxDB on a cron
/// schedule, with the Go original's flags and schema.
@main
struct PlanetFederator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planet-federator",
        abstract: "Aggregates planet-exporter metrics from Prometheus into InfluxDB measurements (ingress, egress, upstream, downstream).",
        discussion: "Flags take one dash or two; booleans also accept -flag=true/false, as Go programs do."
    )

    @Option(name: .customLong("cron-job-schedule"), help: "Cron schedule with seconds: second minute hour day-of-month month day-of-week.")
    var cronJobSchedule = "*/30 * * * * *"

    @Option(name: .customLong("cron-job-timeout-second"), help: "Seconds a run (queries, retries, writes) may take before it is abandoned.")
    var cronJobTimeoutSecond = 30

    @Option(name: .customLong("cron-job-time-offset"), help: "Added to each run's time to get the end of the queried window; negative queries the past (e.g. -30s).")
    var cronJobTimeOffset = GoDuration(nanoseconds: 0)

    @Option(name: .customLong("prometheus-addr"), help: "Prometheus base URL.")
    var prometheusAddr = "http://127.0.0.1:9090"

    @Option(name: .customLong("influxdb-addr"), help: "InfluxDB base URL; \"none\" writes to no InfluxDB (with -prometheus-remote-write-url).")
    var influxdbAddr = "http://127.0.0.1:8086"

    @Option(name: .customLong("influxdb-token"), help: "InfluxDB 2.x API token (or user:password for an InfluxDB 1.x with authentication).")
    var influxdbToken = ""

    @Option(name: .customLong("influxdb-token-file"), help: "File holding the -influxdb-token value (one line), read at start; keeps it off the command line (e.g. a systemd credential: %d/influxdb-token).")
    var influxdbTokenFile = ""

    private var influxdbTokenFlag: SecretFlag {
        SecretFlag(name: "influxdb-token", value: influxdbToken, file: influxdbTokenFile)
    }

    @Option(name: .customLong("influxdb-org"), help: "InfluxDB 2.x organisation.")
    var influxdbOrg = "mothership"

    @Option(name: .customLong("influxdb-bucket"), help: "InfluxDB 2.x bucket, or the database name with InfluxDB 1.x.")
    var influxdbBucket = "mothership"

    @Option(name: .customLong("influxdb-batch-size"), help: "Points per write request.")
    var influxdbBatchSize = 5000

    @Option(name: .customLong("influxdb-api"), help: "Write API: auto (ask /ping), v1 (/write?db=) or v2 (/api/v2/write).")
    var influxdbAPI = InfluxAPIChoice.auto

    @Option(name: .customLong("prometheus-remote-write-url"), help: "Also write the federated series to this Prometheus remote-write receiver, e.g. http://127.0.0.1:9090/api/v1/write.")
    var prometheusRemoteWriteURL = ""

    @Option(name: .customLong("prometheus-remote-write-batch-size"), help: "Samples per remote-write request.")
    var prometheusRemoteWriteBatchSize = 2000

    @Option(name: .customLong("state-file"), help: "File keeping the last window and the windows not yet written across restarts (default: kept in memory only).")
    var stateFile = ""

    @Option(name: .customLong("catch-up-max-age"), help: "Windows that could not be written are caught up at later runs while younger than this.")
    var catchUpMaxAge = GoDuration(nanoseconds: 86_400_000_000_000)

    @Option(name: .customLong("query-step"), help: "Spacing of the points written within each run's window.")
    var queryStep = GoDuration(nanoseconds: 30_000_000_000)

    @Option(name: .customLong("query-rate-window"), help: "irate() window for traffic; must hold at least two scrapes.")
    var queryRateWindow = GoDuration(nanoseconds: 60_000_000_000)

    @Option(name: .customLong("traffic-noise-floor-bps"), help: "Traffic at or below this many bits/s is not written.")
    var trafficNoiseFloorBps = 1000.0

    @Option(name: .customLong("exclude-ports"), help: "Comma-separated service ports not to federate (e.g. 22,19100).")
    var excludePorts = ""

    @Option(name: .customLong("exclude-remote-addresses"), help: "Comma-separated remote addresses (IPs or inventory names) not to federate.")
    var excludeRemoteAddresses = ""

    @Option(name: .customLong("exclude-ports-regex"), help: "Service ports not to federate, as a regular expression over the whole port (RE2, as PromQL reads it), e.g. '22|9100|1[0-9]{4}'.")
    var excludePortsRegex = ""

    @Option(name: .customLong("exclude-remote-addresses-regex"), help: "Remote addresses not to federate, as a regular expression over the whole value, e.g. '52\\..*|192\\.168\\..*': traffic's remote_ip and remote_domain, the dependencies' remote_address.")
    var excludeRemoteAddressesRegex = ""

    @Flag(name: .customLong("require-hostgroups"), inversion: .prefixedNo, help: "Federate only series with hostgroups, as the Go original: traffic with local and remote hostgroup, dependencies with a local one.")
    var requireHostgroups = false

    @Option(name: .customLong("exclusions"), help: "none, or go: add the Go original's matchers to those of the other flags (its address patterns and required hostgroups; for dependencies also its ports, a process name and a peer the inventory named).")
    var exclusions = ExclusionPreset.none

    @Option(name: .customLong("listen-address"), help: "Serve the federator's own metrics on /metrics at this address (HOST:PORT, e.g. 127.0.0.1:19110); empty serves none.")
    var listenAddress = ""
    /// The same -web.* flags as the agent's: TLS, basic auth and limits for -listen-address.
    @OptionGroup var web: WebFlags

    @Flag(name: .customLong("once"), inversion: .prefixedNo, help: "Run one job for the window ending now, then exit (status 1 if it failed).")
    var once = false

    @OptionGroup var log: LogOptions

    @Flag(name: .customLong("version"), inversion: .prefixedNo, help: "Show version and exit.")
    var showVersion = false

    static func main() async { await mainWithGoFlags() }

    func validate() throws {
        do { try influxdbTokenFlag.validate() } catch { throw ValidationError(error.description) }
        do {
            _ = try CronSchedule(cronJobSchedule)
        } catch {
            throw ValidationError("\(error)")
        }
        guard cronJobTimeoutSecond > 0 else { throw ValidationError("-cron-job-timeout-second must be positive") }
        guard influxdbBatchSize > 0 else { throw ValidationError("-influxdb-batch-size must be positive") }
        guard prometheusRemoteWriteBatchSize > 0 else { throw ValidationError("-prometheus-remote-write-batch-size must be positive") }
        guard catchUpMaxAge.nanoseconds >= 0 else { throw ValidationError("-catch-up-max-age must not be negative") }
        guard influxdbAddr != "none" || !prometheusRemoteWriteURL.isEmpty else {
            throw ValidationError("nothing to write to: -influxdb-addr is none and no -prometheus-remote-write-url is given")
        }
        guard queryStep.nanoseconds >= 1_000_000_000 else { throw ValidationError("-query-step must be at least 1s") }
        guard queryRateWindow.nanoseconds >= 1_000_000_000 else { throw ValidationError("-query-rate-window must be at least 1s") }
        do {
            if !excludePortsRegex.isEmpty { try ExclusionPattern.validate(excludePortsRegex, flag: "-exclude-ports-regex") }
            if !excludeRemoteAddressesRegex.isEmpty {
                try ExclusionPattern.validate(excludeRemoteAddressesRegex, flag: "-exclude-remote-addresses-regex")
            }
        } catch {
            throw ValidationError("\(error)")
        }
        if !listenAddress.isEmpty && ListenAddress(listenAddress) == nil {
            throw ValidationError("-listen-address \(listenAddress): expected HOST:PORT, e.g. 127.0.0.1:19110")
        }
        for address in [prometheusAddr, influxdbAddr == "none" ? "" : influxdbAddr, prometheusRemoteWriteURL]
        where !address.isEmpty && !(address.hasPrefix("http://") || address.hasPrefix("https://")) {
            throw ValidationError("address \"\(redactedURL(address))\" must start with http:// or https://")
        }
    }

    func run() async throws {
        if showVersion {
            print("planet-federator \(BuildInfo.version) (revision \(BuildInfo.revision))")
            return
        }
        try log.bootstrap()
        let logger = Logger(label: "planet-federator")
        let influxdbToken: String
        do {
            influxdbToken = try influxdbTokenFlag.resolve()
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        let schedule = try CronSchedule(cronJobSchedule)
        let configuration = FederatorConfiguration(
            prometheusAddress: prometheusAddr,
            influx: influxdbAddr == "none" ? nil : InfluxTarget(address: influxdbAddr, bucket: influxdbBucket, org: influxdbOrg, token: influxdbToken),
            influxAPI: influxdbAPI,
            batchSize: influxdbBatchSize,
            remoteWrite: prometheusRemoteWriteURL.isEmpty ? nil : RemoteWriteTarget(url: prometheusRemoteWriteURL, batchSize: prometheusRemoteWriteBatchSize),
            queryOptions: QueryOptions(
                excludedPorts: Self.list(excludePorts),
                excludedRemoteAddresses: Self.list(excludeRemoteAddresses),
                excludedPortPatterns: excludePortsRegex.isEmpty ? [] : [excludePortsRegex],
                excludedRemoteAddressPatterns: excludeRemoteAddressesRegex.isEmpty ? [] : [excludeRemoteAddressesRegex],
                requireHostgroups: requireHostgroups,
                exclusions: exclusions,
                noiseFloorBitsPerSecond: trafficNoiseFloorBps,
                rateWindowSeconds: Int(queryRateWindow.nanoseconds / 1_000_000_000)
            ),
            stepSeconds: Int(queryStep.nanoseconds / 1_000_000_000),
            timeOffsetSeconds: Int(cronJobTimeOffset.nanoseconds / 1_000_000_000),
            jobTimeout: .seconds(cronJobTimeoutSecond),
            catchUpMaxAgeSeconds: Int(catchUpMaxAge.nanoseconds / 1_000_000_000),
            stateFile: stateFile.isEmpty ? nil : stateFile,
            userAgent: "planet-federator/\(BuildInfo.version)"
        )
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let federator = Federator(client: client, configuration: configuration, logger: logger)
        if !once {
            logger.info("planet-federator started", metadata: [
                "version": "\(BuildInfo.version)", "schedule": "\(cronJobSchedule)", "prometheus": "\(redactedURL(prometheusAddr))",
                "influxdb": "\(redactedURL(influxdbAddr))",
                "remote_write": "\(prometheusRemoteWriteURL.isEmpty ? "none" : redactedURL(prometheusRemoteWriteURL))",
            ])
        }
        // -once runs as a service too, so SIGTERM cancels its run and its windows are kept.
        let outcome = OnceOutcome()
        var stores: [SinkID] = []
        if configuration.influx != nil { stores.append(.influxdb) }
        if configuration.remoteWrite != nil { stores.append(.remoteWrite) }
        let metrics = FederatorMetrics(stores: stores, version: BuildInfo.version, revision: BuildInfo.revision)
        let service = FederatorService(schedule: schedule, federator: federator, once: once, logger: logger,
                                       metrics: metrics) { summary in
            outcome.record(failed: !summary.succeeded)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
        ]
        if let address = ListenAddress(listenAddress) {
            // A web config that cannot be used stops the start, as the agent's does.
            let listener: WebListener
            do {
                listener = try WebListener(host: address.host, port: address.port, settings: web.settings,
                                           serverName: "planet-federator", logger: logger)
            } catch {
                logger.error("\(error)")
                throw ExitCode.failure
            }
            services.append(.init(service: Self.metricsServer(listener, metrics: metrics)))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        var failed = false
        do {
            try await group.run()
        } catch {
            logger.error("federator failed", metadata: ["error": "\(error)"])
            failed = true
        }
        failed = failed || outcome.failed
        try await client.shutdown()
        if failed { throw ExitCode.failure }
    }

    /// The HTTP server of -listen-address, behind the agent's listener (web config, limits):
    /// /metrics (the federator's families, then the listener's planet_web_*), and a landing
    /// page linking to it.
    private static func metricsServer(_ listener: WebListener, metrics: FederatorMetrics) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ in
            var web = ExpositionWriter()
            listener.reading().render(into: &web)
            return Response(status: .ok, headers: [.contentType: FederatorMetrics.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render() + web.bytes)))
        }
        router.get("/") { _, _ in
            let page = "<!doctype html><html><head><title>planet-federator</title></head><body><h1>planet-federator</h1><p><a href=\"/metrics\">Metrics</a></p></body></html>\n"
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        return listener.makeApplication(router: router, services: [])
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

extension InfluxAPIChoice: ExpressibleByArgument {}
extension ExclusionPreset: ExpressibleByArgument {}

/// Whether the `-once` run failed, set from the service's task.
final class OnceOutcome: Sendable {
    private let value = Mutex(false)

    func record(failed: Bool) {
        value.withLock { $0 = failed }
    }

    var failed: Bool { value.withLock { $0 } }
}
