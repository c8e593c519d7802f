import Capture
import Hummingbird
import Logging
import NetAddress
import ServiceLifecycle

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
        let enrichment: @Sendable () -> Enrichment = { .none }

        if configuration.captureEnabled {
            var settings = configuration.capture
            settings.interval = configuration.taskInterval
            let capture = CaptureTask(settings: settings, logger: logger)
            services.append(capture)
            collectors.append(CaptureCollector(task: capture, rendersTraffic: true, enrichment: enrichment))
        }

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
