import ArgumentParser
import CommandLineSupport
import Listener

/// The -web.* flags of an HTTP endpoint, the same for the agent and the federator, as
/// exporter-toolkit gives every Prometheus exporter the same ones: the web config file
/// (TLS, basic auth) and the limits that keep a client from holding the server.
public struct WebFlags: ParsableArguments {
    @Option(name: .customLong("web.config.file"), help: ArgumentHelp("exporter-toolkit web config file for TLS and basic auth, re-read when it changes", valueName: "PATH"))
    var configFile = ""
    @Option(name: .customLong("web.max-connections"), help: "HTTP connections open at once; past it an idle one is closed, never-answered ones first")
    var maxConnections = ServerLimits().maxConnections
    @Option(name: .customLong("web.idle-timeout"), help: "Close a kept-alive HTTP connection idle this long, or a response the client stops reading")
    var idleTimeout = GoDuration(ServerLimits().idleTimeout)
    @Option(name: .customLong("web.read-header-timeout"), help: "Close an HTTP connection whose request head is not complete this long after it started")
    var readHeaderTimeout = GoDuration(ServerLimits().readHeaderTimeout)
    @Option(name: .customLong("web.response-timeout"), help: "Close an HTTP connection whose response is not sent whole this long after its request came, however steadily the client reads",
            transform: { try GoDuration(parsing: $0) })
    var responseTimeout = GoDuration(ServerLimits().responseTimeout)
    @Option(name: .customLong("web.allowed-hosts"), help: ArgumentHelp("Answer only requests whose Host header names one of these hosts (comma-separated, each with an optional :port; others get 421); empty answers any", valueName: "HOSTS"))
    var allowedHosts = ""

    public init() {}

    public func validate() throws {
        if maxConnections < 1 { throw ValidationError("-web.max-connections must be at least 1") }
        for (flag, value) in [("-web.idle-timeout", idleTimeout), ("-web.read-header-timeout", readHeaderTimeout),
                              ("-web.response-timeout", responseTimeout)] where value.nanoseconds <= 0 {
            throw ValidationError("\(flag) \(value): must be positive")
        }
        do { _ = try AllowedHosts(parsing: allowedHosts) } catch { throw ValidationError("\(error)") }
    }

    /// The listener's settings these flags give (call after `validate`).
    public var settings: WebServerSettings {
        var settings = WebServerSettings()
        settings.configFile = configFile.isEmpty ? nil : configFile
        settings.limits.maxConnections = maxConnections
        settings.limits.idleTimeout = idleTimeout.duration
        settings.limits.readHeaderTimeout = readHeaderTimeout.duration
        settings.limits.responseTimeout = responseTimeout.duration
        settings.allowedHosts = (try? AllowedHosts(parsing: allowedHosts)) ?? AllowedHosts()
        settings.parseDuration = { try? GoDuration(parsing: $0).duration }
        return settings
    }
}
