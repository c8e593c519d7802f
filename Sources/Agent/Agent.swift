import Capture
import Hummingbird
import Inventory
import Logging
import PlanetMetrics
import Migration
import NetAddress
import ServiceLifecycle
import Sockets
import Web

/// Wires the agent: the tasks as services, the collectors, and the HTTP endpoint, in one
/// ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
public enum AgentRuntime {
    /// Runs the agent until SIGTERM or SIGINT; `version` and `revision` are reported by
    /// planet_exporter_build_info and the page.
    public static func run(_ configuration: AgentConfiguration, version: String, revision: String, logger: Logger) async throws {
        var services: [any Service] = []
        var collectors: [any MetricsCollector] = []
        let hostAddress: @Sendable () -> IPAddress = { HostIdentity.primaryAddress() }

        var enrichment: @Sendable () -> Enrichment = { .none }
        var inventoryTask: InventoryTask? = nil
        if configuration.inventoryEnabled {
            let format = try InventoryFormat(flagValue: configuration.inventoryFormat)
            let task = InventoryTask(address: configuration.inventoryAddress, format: format,
                                     interval: configuration.taskInterval,
                                     fetcher: HTTPFetcher(maxBytes: configuration.fetchMaxBytes), logger: logger)
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
            collectors.append(CaptureCollector(rendersTraffic: feed == .capture, enrichment: enrichment) { task.reading() })
        }

        if feed == .darkstat {
            logger.info("planet_traffic_bytes_total comes from darkstat at \(configuration.darkstatAddress)")
            let task = ScrapeTask.darkstat(address: configuration.darkstatAddress, interval: configuration.taskInterval,
                                           maxBytes: configuration.fetchMaxBytes, logger: logger)
            services.append(task)
            collectors.append(MigrationCollector.darkstat(enrichment: enrichment) { task.reading() })
        }

        if configuration.ebpfEnabled {
            let task = ScrapeTask.ebpf(address: configuration.ebpfAddress, interval: configuration.taskInterval,
                                       maxBytes: configuration.fetchMaxBytes, logger: logger)
            services.append(task)
            collectors.append(MigrationCollector.ebpf(enrichment: enrichment) { task.reading() })
        }

        var socketstat: SocketstatTask? = nil
        if configuration.socketstatEnabled {
            let task = SocketstatTask(interval: configuration.taskInterval, aggregator: capture?.aggregator, logger: logger)
            socketstat = task
            services.append(task)
            collectors.append(SocketstatCollector(maxSeries: configuration.dependencyMaxSeries, enrichment: enrichment) {
                task.dependencies()
            })
        }

        if let inventoryTask {
            services.append(inventoryTask)
            collectors.append(InventoryCollector { inventoryTask.health() })
        }
        collectors.append(HostnameCollector(hostAddress: hostAddress, enrichment: enrichment))

        let registry = MetricsRegistry(collectors: collectors, version: version, revision: revision)
        var ui: WebUISources? = nil
        if configuration.webUIEnabled {
            let history = capture.map { HistoryTask(aggregator: $0.aggregator) }
            if let history { services.append(history) }
            ui = webUISources(capture: capture, history: history, socketstat: socketstat,
                              hostAddress: hostAddress, enrichment: enrichment)
        }
        var app = Application(
            router: WebServer.router(registry: registry, ui: ui),
            configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort),
                                 serverName: "planet-exporter"),
            logger: logger)
        app.addServices(services)
        logger.info("planet-exporter \(version) listening on \(configuration.listenHost):\(configuration.listenPort)")
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
