import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// How an HTTP endpoint listens (the agent's, the federator's): the web config file and
/// the server's limits.
public struct WebServerSettings: Sendable {
    /// `-web.config.file`: exporter-toolkit's web config (TLS, basic auth); nil for none.
    public var configFile: String?
    public var limits = ServerLimits()
    /// `-web.allowed-hosts`: the Host headers answered; empty answers any.
    public var allowedHosts = AllowedHosts()
    /// Reads the web config's durations (rate_limit.interval) in Go's syntax.
    public var parseDuration: @Sendable (String) -> Duration? = { _ in nil }

    public init() {}
}

/// An HTTP listener (the agent's, the federator's): the web config in force and the open
/// connections. Made before what renders its self metrics (`reading()`), it then makes
/// the application that serves a router behind the web config and the limits.
public final class WebListener: Sendable {
    public let host: String
    public let port: Int
    public let settings: WebServerSettings
    /// The Server header of every response.
    public let serverName: String
    /// The web config file, re-read when it changes; nil without one.
    public let webConfig: WebConfigReloader?
    let registry: ConnectionRegistry
    let refusals = RefusedRequests()
    let authenticator = BasicAuthenticator()
    private let logger: Logger

    /// Reads the web config file, if any; a file that cannot be used is refused with a
    /// one-line error naming the key at fault.
    public init(host: String, port: Int, settings: WebServerSettings, serverName: String = "planet-exporter",
                logger: Logger) throws(WebConfigFileError) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.settings = settings
        self.logger = logger
        self.registry = ConnectionRegistry(limit: settings.limits.maxConnections)
        if let path = settings.configFile, !path.isEmpty {
            let reloader = try WebConfigReloader(path: path, parseDuration: settings.parseDuration, logger: logger)
            webConfig = reloader
            let config = reloader.current().config
            logger.info("web config \(path): TLS is \(config.tls == nil ? "off" : "on"), basic auth \(config.users.isEmpty ? "off" : "on (\(config.users.count) users)")")
            if config.http2 != nil {
                logger.info("web config \(path): http_server_config.http2 is ignored: the agent serves HTTP/1.1")
            }
        } else {
            webConfig = nil
        }
    }

    /// An application serving `router` on this listener, with `services` beside it.
    public func makeApplication<Router: HTTPResponderBuilder>(router: Router, services: [any Service])
        -> some ApplicationProtocol where Router.Responder.Context == BasicRequestContext {
        let responder = router.buildResponder()
        let registry = self.registry, webConfig = self.webConfig, limits = settings.limits
        let server = HTTPServerBuilder { httpResponder in
            GuardedHTTPChannel(responder: httpResponder, webConfig: webConfig, registry: registry, limits: limits)
        }
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: serverName)
        let guarded = WebConfigResponder(inner: responder, webConfig: webConfig, allowedHosts: settings.allowedHosts,
                                         refusals: refusals, authenticator: authenticator)
        return ListenerApplication(responder: guarded,
                                   server: server, configuration: configuration, services: services, logger: logger)
    }

    /// The listener's self metrics.
    public func reading() -> ListenerReading {
        let connections = registry.reading
        let reloads = webConfig?.counters
        return ListenerReading(
            openConnections: connections.open, acceptedConnections: connections.accepted,
            closedConnections: ConnectionRegistry.CloseReason.allCases.map { ($0.rawValue, connections.closed[$0] ?? 0) },
            configReloads: reloads.map { ($0.succeeded, $0.failed, $0.lastSucceeded) },
            refusedRequests: refusals.reading, authSourcesEvicted: webConfig == nil ? nil : authenticator.evictedSources)
    }
}
