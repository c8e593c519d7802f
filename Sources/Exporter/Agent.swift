import Capture
import Hummingbird
import Inventory
import Logging
import Migration
import NetAddress
import ServiceLifecycle
import Sockets

/// Everything the agent's command line configures.
public struct AgentConfiguration: Sendable {
    public var listenHost = "0.0.0.0"
    public var listenPort = 19100
    public var taskInterval: Duration = .seconds(7)
    public var socketstatEnabled = true
    public var inventoryEnabled = false
    public var inventoryAddress = ""
    public var inventoryFormat = "arrayjson"
    public var darkstatEnabled = false
    public var darkstatAddress = ""
    public var ebpfEnabled = false
    public var ebpfAddress = "http://localhost:9435/metrics"
    public var captureEnabled = true
    public var capture = CaptureSettings()

    public init() {}

    /// Parses a Go-style listen address: "HOST:PORT", "[V6]:PORT" or ":PORT" (all addresses).
    public static func parseListenAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "::" }
        return (host, port)
    }
}

/// Wires the agent: the tasks as services, the collectors, and the HTTP endpoint, in one
/// ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
public enum Agent {
    public static func run(_ configuration: AgentConfiguration, logger: Logger) async throws {
        var services: [any Service] = []
        var collectors: [any MetricsCollector] = []
        let hostAddress: @Sendable () -> IPAddress = { HostIdentity.primaryAddress() }

        var enrichment: @Sendable () -> Enrichment = { .none }
        var inventoryTask: InventoryTask? = nil
        if configuration.inventoryEnabled {
            let format = try InventoryFormat(flagValue: configuration.inventoryFormat)
            let task = InventoryTask(address: configuration.inventoryAddress, format: format,
                                     interval: configuration.taskInterval, logger: logger)
            inventoryTask = task
            enrichment = { task.enrichment(hostAddress: hostAddress()) }
        }

        // Exactly one source feeds planet_traffic_bytes_total, so bytes are never counted twice.
        let (feed, feedWarning) = TrafficFeed.select(captureEnabled: configuration.captureEnabled,
                                                     darkstatEnabled: configuration.darkstatEnabled)
        if let feedWarning { logger.warning("\(feedWarning)") }

        var capture: CaptureTask? = nil
        if configuration.captureEnabled {
            var settings = configuration.capture
            settings.interval = configuration.taskInterval
            let task = CaptureTask(settings: settings, logger: logger)
            capture = task
            services.append(task)
            collectors.append(CaptureCollector(task: task, rendersTraffic: feed == .capture, enrichment: enrichment))
        }

        if feed == .darkstat {
            logger.info("planet_traffic_bytes_total comes from darkstat at \(configuration.darkstatAddress)")
            let task = ScrapeCollector.darkstatTask(address: configuration.darkstatAddress,
                                                    interval: configuration.taskInterval, logger: logger)
            services.append(task)
            collectors.append(ScrapeCollector.darkstat(task: task, enrichment: enrichment))
        }

        if configuration.ebpfEnabled {
            let task = ScrapeCollector.ebpfTask(address: configuration.ebpfAddress,
                                                interval: configuration.taskInterval, logger: logger)
            services.append(task)
            collectors.append(ScrapeCollector.ebpf(task: task, enrichment: enrichment))
        }

        if configuration.socketstatEnabled {
            let task = SocketstatTask(interval: configuration.taskInterval, aggregator: capture?.aggregator, logger: logger)
            services.append(task)
            collectors.append(SocketstatCollector(task: task, enrichment: enrichment))
        }

        if let inventoryTask {
            services.append(inventoryTask)
            collectors.append(InventoryCollector(task: inventoryTask))
        }
        collectors.append(HostnameCollector(hostAddress: hostAddress, enrichment: enrichment))

        let registry = MetricsRegistry(collectors: collectors)
        var app = Application(
            router: MetricsServer.router(registry: registry),
            configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort),
                                 serverName: "planet-exporter"),
            logger: logger)
        app.addServices(services)
        logger.info("planet-exporter \(BuildInfo.version) listening on \(configuration.listenHost):\(configuration.listenPort)")
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
