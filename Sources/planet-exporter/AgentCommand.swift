import ArgumentParser
import CommandLineSupport
import Agent
import WebFlags
import Inventory
import Logging
import NetAddress
import PlanetMetrics
import Web

/// The agent: the Go original's flags (one dash or two), plus the -capture-* flags.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent and serve /metrics (the default command).",
        discussion: "Flags take one dash or two. To count capture files instead: planet-exporter replay --help")

    @Option(name: .customLong("listen-address"), help: "Address to which exporter will bind its HTTP interface")
    var listenAddress = "0.0.0.0:19100"
    @OptionGroup var log: LogOptions
    @Flag(name: .customLong("version"), inversion: .prefixedNo, help: "Show version and exit")
    var version = false
    @Option(name: .customLong("task-interval"), help: "Interval between collection of expensive data into memory")
    var taskInterval = GoDuration(nanoseconds: 7_000_000_000)
    @Flag(name: .customLong("task-socketstat-enabled"), inversion: .prefixedNo, help: "Enable socketstat collector task")
    var socketstatEnabled = true
    @Flag(name: .customLong("task-inventory-enabled"), inversion: .prefixedNo, help: "Enable inventory collector task")
    var inventoryEnabled = false
    @Option(name: .customLong("task-inventory-addr"), help: "HTTP endpoint that returns the inventory data")
    var inventoryAddress = ""
    @Option(name: .customLong("task-inventory-format"), help: "Inventory format to parse the returned inventory data (arrayjson or ndjson)")
    var inventoryFormat = "arrayjson"
    @Flag(name: .customLong("task-darkstat-enabled"), inversion: .prefixedNo, help: "Enable darkstat collector task")
    var darkstatEnabled = false
    @Option(name: .customLong("task-darkstat-addr"), help: "Darkstat target address")
    var darkstatAddress = ""
    @Flag(name: .customLong("task-ebpf-enabled"), inversion: .prefixedNo, help: "Enable Ebpf collector task")
    var ebpfEnabled = false
    @Option(name: .customLong("task-ebpf-addr"), help: "Ebpf target address")
    var ebpfAddress = "http://localhost:9435/metrics"
    @Flag(name: .customLong("task-capture-enabled"), inversion: .prefixedNo, help: "Enable packet capture for per-peer bandwidth (replaces darkstat)")
    var captureEnabled = true
    @Option(name: .customLong("capture-interfaces"), help: "Comma-separated interfaces to capture on (default: every up interface with an address that is not link-local, loopback excluded, at most -capture-max-interfaces)")
    var captureInterfaces = ""
    @Option(name: .customLong("capture-max-interfaces"), help: "Most interfaces the default selection captures on (each costs a thread and a kernel buffer)")
    var captureMaxInterfaces = HostInterfaces.defaultMaxCaptureInterfaces
    @Option(name: .customLong("task-fetch-max-bytes"), help: "Most bytes read from one inventory, darkstat or ebpf_exporter response; a larger one fails and the last good data stays")
    var fetchMaxBytes = HTTPFetcher.defaultMaxBytes
    @Option(name: .customLong("task-socketstat-max-series"), help: "Most series per dependency family (planet_upstream, planet_downstream, planet_server_process); past it the services with the most peers are folded")
    var socketstatMaxSeries = DependencyMetrics.defaultMaxSeries
    @Option(name: .customLong("capture-filter"), help: "BPF filter expression applied to capture")
    var captureFilter = ""
    @Option(name: .customLong("capture-local-net"), help: ArgumentHelp("Network counted as local besides the interfaces' addresses, in CIDR notation (repeatable)", valueName: "CIDR"))
    var captureLocalNets: [String] = []
    @Option(name: .customLong("capture-snaplen"), help: "Bytes captured per packet (headers only are needed)")
    var captureSnaplen: Int32 = 192
    @Option(name: .customLong("capture-buffer-bytes"), help: "Kernel ring buffer per interface, in bytes: the packets held while the agent is busy; all of it is resident memory")
    var captureBufferBytes = Int(CaptureSettings().options.bufferBytes)
    @Option(name: .customLong("capture-max-series"), help: "Most traffic series kept in memory; the least recently active are evicted past it")
    var captureMaxSeries = AgentDefaults.maxSeries
    @Option(name: .customLong("capture-dns-max-names"), help: "Most peer addresses named (remote_dns_name) from the DNS answers the host receives; past it the earliest to expire are evicted; 0 turns DNS decoding off")
    var captureDNSMaxNames = AgentDefaults.maxDNSNames
    @Flag(name: .customLong("capture-promisc"), inversion: .prefixedNo, help: "Capture in promiscuous mode")
    var capturePromisc = false
    @Flag(name: .customLong("process-unit-label"), inversion: .prefixedNo, help: "Label series of a process with its systemd unit or container (process_unit, from /proc/PID/cgroup); false leaves every label set without it")
    var processUnitLabel = true
    @Flag(name: .customLong("web-ui-enabled"), inversion: .prefixedNo, help: "Serve the page and /api/v1 (false: / is a landing page and /api is not served)")
    var webUIEnabled = true
    @OptionGroup var web: WebFlags
    @Option(name: .customLong("web.response-memory-bytes"), help: "Bytes of /metrics renderings held at once for clients still reading them; past it the clients of the oldest renderings are cut (counted in planet_web_connections_closed_total{reason=\"response_memory\"})")
    var responseMemoryBytes = WebServer.defaultResponseMemory
    @Flag(name: .customLong("web.capture-enabled"), inversion: .prefixedNo, help: "Serve pcapng captures on demand at /api/v1/capture (needs a -web.config.file with basic auth or verified client certificates: packets carry payloads)")
    var webCaptureEnabled = false
    @Option(name: .customLong("web.capture-max-seconds"), help: "Longest capture /api/v1/capture takes, in seconds")
    var webCaptureMaxSeconds = CaptureOnDemandSettings().maxSeconds
    @Option(name: .customLong("web.capture-max-bytes"), help: "Largest pcapng file /api/v1/capture sends, in bytes")
    var webCaptureMaxBytes = CaptureOnDemandSettings().maxBytes
    @Option(name: .customLong("run-as-user"), help: ArgumentHelp("Once capture handles are open, run as this user with only the capabilities still needed (needs root)", valueName: "NAME"))
    var runAsUser = ""
    @Option(name: .customLong("state-directory"), help: ArgumentHelp("Directory where the graphs, the DNS names and the servers learned from traffic are saved and restored from at start (empty: nothing is kept across restarts)", valueName: "DIR"))
    var stateDirectory = ""
    @Option(name: .customLong("state-save-interval"), help: "Interval between two saves of the state in -state-directory (it is saved at shutdown too)")
    var stateSaveInterval = GoDuration(nanoseconds: 60_000_000_000)

    func validate() throws {
        if ListenAddress(listenAddress) == nil {
            throw ValidationError("-listen-address \(listenAddress): expected HOST:PORT, e.g. 0.0.0.0:19100")
        }
        do { _ = try InventoryFormat(flagValue: inventoryFormat) } catch { throw ValidationError("\(error)") }
        if inventoryEnabled && inventoryAddress.isEmpty {
            throw ValidationError("-task-inventory-enabled needs -task-inventory-addr (an http:// or https:// URL)")
        }
        if darkstatEnabled && darkstatAddress.isEmpty {
            throw ValidationError("-task-darkstat-enabled needs -task-darkstat-addr (e.g. http://localhost:51666/metrics)")
        }
        if responseMemoryBytes < 1 {
            throw ValidationError("-web.response-memory-bytes \(responseMemoryBytes): must be positive")
        }
        if taskInterval.nanoseconds <= 0 {
            throw ValidationError("-task-interval \(taskInterval): must be positive")
        }
        if captureMaxSeries < 1 { throw ValidationError("-capture-max-series must be at least 1") }
        if captureDNSMaxNames < 0 { throw ValidationError("-capture-dns-max-names must be 0 (off) or more") }
        if captureMaxInterfaces < 1 { throw ValidationError("-capture-max-interfaces must be at least 1") }
        if fetchMaxBytes < 1 { throw ValidationError("-task-fetch-max-bytes must be at least 1") }
        if socketstatMaxSeries < 1 { throw ValidationError("-task-socketstat-max-series must be at least 1") }
        if !(64...65535).contains(captureSnaplen) { throw ValidationError("-capture-snaplen must be between 64 and 65535") }
        if !((1 << 16)...(1 << 30)).contains(captureBufferBytes) {
            throw ValidationError("-capture-buffer-bytes must be between 65536 and 1073741824")
        }
        for text in captureLocalNets where IPNetwork(text) == nil {
            throw ValidationError("-capture-local-net \(text): not a CIDR network (e.g. 10.0.0.0/8)")
        }
        if !(1...3600).contains(webCaptureMaxSeconds) { throw ValidationError("-web.capture-max-seconds must be between 1 and 3600") }
        if !(CaptureOnDemandSettings.minBytes...(1 << 32)).contains(webCaptureMaxBytes) {
            throw ValidationError("-web.capture-max-bytes must be between \(CaptureOnDemandSettings.minBytes) and 4294967296")
        }
        if stateSaveInterval.nanoseconds < 1_000_000_000 {
            throw ValidationError("-state-save-interval \(stateSaveInterval): must be at least 1s")
        }
    }

    func run() async throws {
        if version {
            print("planet-exporter \(BuildInfo.version) (revision \(BuildInfo.revision))")
            return
        }
        try await run(prepare())
    }

    /// Sets up logging, opens what needs privilege and drops privileges (-run-as-user):
    /// called by main before its first suspension, while the process has one thread.
    func prepare() throws -> AgentRuntime.Prepared {
        try log.bootstrap()
        return try AgentRuntime.prepare(configuration(), logger: Logger(label: "planet-exporter"))
    }

    /// Runs what `prepare` made ready.
    func run(_ prepared: AgentRuntime.Prepared) async throws {
        try await AgentRuntime.run(prepared, version: BuildInfo.version, revision: BuildInfo.revision,
                                   logger: Logger(label: "planet-exporter"))
    }

    private func configuration() -> AgentConfiguration {
        var configuration = AgentConfiguration()
        let listen = ListenAddress(listenAddress)!
        configuration.listenHost = listen.host
        configuration.listenPort = listen.port
        configuration.taskInterval = taskInterval.duration
        configuration.socketstatEnabled = socketstatEnabled
        configuration.inventoryEnabled = inventoryEnabled
        configuration.inventoryAddress = inventoryAddress
        configuration.inventoryFormat = inventoryFormat
        configuration.darkstatEnabled = darkstatEnabled
        configuration.darkstatAddress = darkstatAddress
        configuration.ebpfEnabled = ebpfEnabled
        configuration.ebpfAddress = ebpfAddress
        configuration.captureEnabled = captureEnabled
        configuration.capture.interfaces = captureInterfaces.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        configuration.capture.options.filter = captureFilter
        configuration.capture.options.snapLength = captureSnaplen
        configuration.capture.options.bufferBytes = Int32(captureBufferBytes)
        configuration.capture.options.promiscuous = capturePromisc
        configuration.capture.localNetworks = captureLocalNets.compactMap { IPNetwork($0) }
        configuration.capture.maxSeries = captureMaxSeries
        configuration.capture.maxDNSNames = captureDNSMaxNames
        configuration.web = web.settings
        configuration.responseMemoryBytes = responseMemoryBytes
        if webCaptureEnabled {
            var settings = CaptureOnDemandSettings()
            settings.maxSeconds = webCaptureMaxSeconds
            settings.maxBytes = webCaptureMaxBytes
            configuration.captureOnDemand = settings
        }
        configuration.runAsUser = runAsUser
        configuration.stateDirectory = stateDirectory
        configuration.stateSaveInterval = stateSaveInterval.duration
        configuration.webUIEnabled = webUIEnabled
        configuration.processUnitLabel = processUnitLabel
        configuration.capture.maxDefaultInterfaces = captureMaxInterfaces
        configuration.fetchMaxBytes = fetchMaxBytes
        configuration.dependencyMaxSeries = socketstatMaxSeries
        return configuration
    }
}
