import Capture
import Exposition
import Logging
import NetAddress
import ServiceLifecycle
import Synchronization
import Traffic

/// Settings of the capture task (-capture-* flags).
public struct CaptureSettings: Sendable {
    /// Interfaces to capture on; empty = every up interface with an address, loopback excluded.
    public var interfaces: [String] = []
    public var options = LiveCaptureOptions()
    /// Networks counted as local besides the interfaces' own addresses.
    public var localNetworks: [IPNetwork] = []
    public var maxSeries = AgentDefaults.maxSeries
    /// How often interfaces and addresses are re-read and failed interfaces retried.
    public var interval: Duration = .seconds(7)

    public init() {}
}

/// Captures on the host's interfaces: one capture thread and ring per interface, one
/// aggregator. Re-reads interfaces and local addresses every interval, reopens
/// interfaces that failed or went away, and closes every handle on shutdown.
public final class CaptureTask: Service, Sendable {
    public let aggregator: TrafficAggregator
    private let settings: CaptureSettings
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var sources: [String: CaptureSource] = [:]
        /// Counters of sources that ended, so an interface's counters never go backwards.
        var retired: [String: CaptureCounters] = [:]
        /// Interfaces that could not be opened, with the reason.
        var failures: [String: String] = [:]
        var lastLogged: [String: String] = [:]
    }

    public init(settings: CaptureSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.aggregator = TrafficAggregator(accounting: TrafficAccounting(
            maxSeries: settings.maxSeries, localAddresses: Self.localAddresses(settings.localNetworks),
            ephemeralPorts: AgentDefaults.ephemeralPorts()))
    }

    static func localAddresses(_ networks: [IPNetwork]) -> LocalAddresses {
        LocalAddresses(addresses: HostInterfaces.allAddresses(), networks: networks)
    }

    public func run() async throws {
        aggregator.start()
        defer {
            let sources = state.withLock { $0.sources.values }
            for source in sources { source.stop() }
            aggregator.stop()
            logger.info("capture stopped", metadata: ["interfaces": "\(sources.count)"])
        }
        try await runPeriodically(every: settings.interval) { self.refresh() }
    }

    /// One maintenance round: local addresses, ended sources, new or failed interfaces.
    func refresh() {
        let local = Self.localAddresses(settings.localNetworks)
        aggregator.withAccounting { accounting in
            if accounting.localAddresses.addresses != local.addresses { accounting.localAddresses = local }
        }
        reapEndedSources()
        let wanted = settings.interfaces.isEmpty ? HostInterfaces.defaultCaptureInterfaces() : settings.interfaces
        for interface in wanted where state.withLock({ $0.sources[interface] == nil }) {
            open(interface)
        }
    }

    private func open(_ interface: String) {
        do {
            let handle = try PcapHandle.openLive(interface: interface, options: settings.options)
            if handle.linkType == nil {
                logger.warning("interface \(interface): link-layer type \(handle.linkTypeNumber) is not decoded; its frames count as undecoded (unsupported_link)")
            }
            let source = CaptureSource(handle: handle, policy: .drop)
            aggregator.attach(source.ring)
            source.start()
            state.withLock {
                $0.sources[interface] = source
                $0.failures[interface] = nil
                $0.lastLogged[interface] = nil
            }
            logger.info("capturing", metadata: ["interface": "\(interface)", "filter": "\(settings.options.filter)"])
        } catch {
            let message = error.description
            let isNew = state.withLock { state -> Bool in
                state.failures[interface] = message
                defer { state.lastLogged[interface] = message }
                return state.lastLogged[interface] != message
            }
            // Log a failure once, not every retry, so a missing interface does not flood the log.
            if isNew { logger.error("\(message); retrying every \(settings.interval)") }
        }
    }

    private func reapEndedSources() {
        let ended = state.withLock { state -> [(String, CaptureSource)] in
            state.sources.filter { $0.value.error != nil || $0.value.hasFinished }.map { ($0.key, $0.value) }
        }
        for (interface, source) in ended {
            source.stop()
            aggregator.detach(source.ring)
            let reason = source.error?.description ?? "\(interface): capture ended"
            logger.error("\(reason); reopening")
            state.withLock { state in
                state.sources[interface] = nil
                state.retired[interface] = Self.sum(state.retired[interface], source.counters)
                state.failures[interface] = reason
            }
        }
    }

    static func sum(_ a: CaptureCounters?, _ b: CaptureCounters) -> CaptureCounters {
        guard var total = a else { return b }
        total.packets &+= b.packets
        total.decoded &+= b.decoded
        total.kernelDropped &+= b.kernelDropped
        total.ringDropped &+= b.ringDropped
        for index in total.undecoded.indices { total.undecoded[index] &+= b.undecoded[index] }
        return total
    }

    /// Per-interface counters including those of earlier handles of the same interface.
    public func sourceCounters() -> [TrafficMetrics.SourceCounters] {
        state.withLock { state in
            let names = Set(state.sources.keys).union(state.retired.keys).sorted()
            return names.map { name in
                var counters = state.retired[name] ?? CaptureCounters()
                if let live = state.sources[name] { counters = Self.sum(state.retired[name], live.counters) }
                return (name, counters)
            }
        }
    }

    /// Interfaces that are wanted but not capturing, with the reason.
    public var failures: [String: String] { state.withLock { $0.failures } }

    /// Interfaces capturing now.
    public var activeInterfaces: [String] { state.withLock { $0.sources.keys.sorted() } }
}

/// planet_traffic_bytes_total from capture, and the capture self-metrics.
public struct CaptureCollector: MetricsCollector {
    public let name = "capture"
    let task: CaptureTask
    let enrichment: @Sendable () -> Enrichment
    /// False when another source (darkstat) feeds planet_traffic_bytes_total.
    let rendersTraffic: Bool

    public init(task: CaptureTask, rendersTraffic: Bool, enrichment: @escaping @Sendable () -> Enrichment) {
        self.task = task
        self.rendersTraffic = rendersTraffic
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        var renderer = makeRenderer()
        while true {
            if let success = renderer.renderNext(into: &writer) { return success }
        }
    }

    /// Renders the traffic series a few thousand at a time, then the self-metrics.
    public func makeRenderer() -> any CollectorRenderer {
        let snapshot = task.aggregator.snapshot()
        var traffic: TrafficRenderer? = nil
        if rendersTraffic {
            let labels = enrichment()
            traffic = TrafficRenderer(snapshot, local: labels.local, lookup: labels.lookup)
        }
        return Renderer(task: task, snapshot: snapshot, traffic: traffic)
    }

    struct Renderer: CollectorRenderer {
        let task: CaptureTask
        let snapshot: TrafficSnapshot
        var traffic: TrafficRenderer?

        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            if traffic != nil, !traffic!.render(upTo: 2000, into: &writer) { return nil }
            traffic = nil
            TrafficMetrics.renderSelf(snapshot, sources: task.sourceCounters(), into: &writer)
            return task.failures.isEmpty && !task.activeInterfaces.isEmpty
        }
    }
}
