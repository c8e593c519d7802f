import Capture
import Listener
import NetAddress
import PlanetMetrics
import Web

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
    /// -process-unit-label: series of a process carry its systemd unit or container.
    public var processUnitLabel = true
    /// The page and /api/v1 at the listen address (-web-ui-enabled).
    public var webUIEnabled = true
    /// Most bytes read from one inventory, darkstat or ebpf_exporter response.
    public var fetchMaxBytes = HTTPFetcher.defaultMaxBytes
    /// Most series per dependency family (planet_upstream, planet_downstream, planet_server_process).
    public var dependencyMaxSeries = DependencyMetrics.defaultMaxSeries
    /// -web.capture-enabled and its bounds: /api/v1/capture; nil when off.
    public var captureOnDemand: CaptureOnDemandSettings? = nil
    /// -web.config.file and the HTTP server's limits.
    public var web = WebServerSettings()
    /// -web.response-memory-bytes: bytes of /metrics renderings held for clients still reading them.
    public var responseMemoryBytes = WebServer.defaultResponseMemory
    /// -run-as-user: the user to become once capture handles are open; "" stays as started.
    public var runAsUser = ""
    /// -state-directory: where the state kept across restarts is saved; "" keeps none.
    public var stateDirectory = ""
    /// -state-save-interval: time between two saves of the state.
    public var stateSaveInterval: Duration = .seconds(60)

    public init() {}
}
