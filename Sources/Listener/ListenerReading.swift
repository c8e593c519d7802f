import Exposition

/// The HTTP listener's state at one moment: connections open, accepted and closed by the
/// server (by reason: the cap, a timeout), requests refused before any route, and web
/// config reloads; rendered as the planet_web_* families by the agent and the federator.
public struct ListenerReading: Sendable {
    public var openConnections: Int
    public var acceptedConnections: Int
    /// Connections the server closed itself, by reason (evicted, refused, header_timeout, write_timeout,
    /// response_timeout; response_memory is added from `responseMemory`).
    public var closedConnections: [(reason: String, count: Int)]
    /// Reloads of the web config file; nil without one.
    public var configReloads: (succeeded: Int, failed: Int, lastSucceeded: Bool)?
    /// Requests refused before any route, by reason (host, auth_busy, auth_throttled).
    public var refusedRequests: [(reason: String, count: Int)]
    /// Source addresses dropped from the failed basic-auth check table at its bound; nil without a web config.
    public var authSourcesEvicted: Int?
    /// The memory held by responses in flight, when the server bounds it.
    public var responseMemory: ResponseMemory.Reading?

    public init(openConnections: Int, acceptedConnections: Int, closedConnections: [(reason: String, count: Int)],
                configReloads: (succeeded: Int, failed: Int, lastSucceeded: Bool)?,
                refusedRequests: [(reason: String, count: Int)] = [], authSourcesEvicted: Int? = nil) {
        self.openConnections = openConnections
        self.acceptedConnections = acceptedConnections
        self.closedConnections = closedConnections
        self.configReloads = configReloads
        self.refusedRequests = refusedRequests
        self.authSourcesEvicted = authSourcesEvicted
    }

    /// Writes the planet_web_* families; returns false while the web config file in force
    /// is not the file as it is now (its latest reload failed).
    @discardableResult
    public func render(into writer: inout ExpositionWriter) -> Bool {
        writer.family("planet_web_connections", help: "HTTP connections open now", kind: .gauge)
        writer.sample("planet_web_connections", [:], UInt64(openConnections))
        writer.family("planet_web_connections_accepted_total", help: "HTTP connections accepted", kind: .counter)
        writer.sample("planet_web_connections_accepted_total", [:], UInt64(acceptedConnections))
        writer.family("planet_web_connections_closed_total",
                      help: "HTTP connections the server closed itself: evicted or refused at the connection cap, past a timeout, or cut at the response memory bound",
                      kind: .counter)
        for (reason, count) in closedConnections {
            writer.sample("planet_web_connections_closed_total", labels: [("reason", reason)], UInt64(count))
        }
        if let responseMemory {
            writer.sample("planet_web_connections_closed_total", labels: [("reason", "response_memory")], UInt64(responseMemory.cutClients))
            writer.family("planet_web_response_memory_bytes",
                          help: "Bytes of responses held now for clients still reading them (bounded by -web.response-memory-bytes)", kind: .gauge)
            writer.sample("planet_web_response_memory_bytes", [:], UInt64(responseMemory.heldBytes))
        }
        if !refusedRequests.isEmpty {
            writer.family("planet_web_requests_refused_total",
                          help: "HTTP requests refused before any route: a Host not in -web.allowed-hosts, every bcrypt check slot taken, or a source address out of failed basic-auth checks",
                          kind: .counter)
            for (reason, count) in refusedRequests {
                writer.sample("planet_web_requests_refused_total", labels: [("reason", reason)], UInt64(count))
            }
        }
        if let evicted = authSourcesEvicted {
            writer.family("planet_web_auth_sources_evicted_total",
                          help: "Source addresses dropped from the table of failed basic-auth checks at its bound (4096)", kind: .counter)
            writer.sample("planet_web_auth_sources_evicted_total", [:], UInt64(evicted))
        }
        guard let reloads = configReloads else { return true }
        writer.family("planet_web_config_reloads_total", help: "Reloads of the web config file after a change, by result", kind: .counter)
        writer.sample("planet_web_config_reloads_total", labels: [("result", "failure")], UInt64(reloads.failed))
        writer.sample("planet_web_config_reloads_total", labels: [("result", "success")], UInt64(reloads.succeeded))
        writer.family("planet_web_config_last_reload_successful", help: "1 when the web config file in force is the file as it is now", kind: .gauge)
        writer.sample("planet_web_config_last_reload_successful", [:], UInt64(reloads.lastSucceeded ? 1 : 0))
        return reloads.lastSucceeded
    }
}
