import Capture
import Foundation
import Logging
import PlanetMetrics
import NetAddress
import PacketDecoding
import ServiceLifecycle
import Synchronization
import Traffic

/// Settings of the capture task (-capture-* flags).
public struct CaptureSettings: Sendable {
    /// Interfaces to capture on; empty = the default selection (`HostInterfaces.defaultCaptureInterfaces`).
    public var interfaces: [String] = []
    /// Most interfaces the default selection opens.
    public var maxDefaultInterfaces = HostInterfaces.defaultMaxCaptureInterfaces
    public var options = LiveCaptureOptions()
    /// Networks counted as local besides the interfaces' own addresses.
    public var localNetworks: [IPNetwork] = []
    public var maxSeries = AgentDefaults.maxSeries
    /// Most peer addresses named from DNS answers; 0 turns DNS decoding off.
    public var maxDNSNames = AgentDefaults.maxDNSNames
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
        /// Handles opened by openInterfaces(), before capture starts.
        var opened: [String: PcapHandle] = [:]
        /// Interfaces that could not be opened, with the reason.
        var failures: [String: String] = [:]
        var lastLogged: [String: String] = [:]
        /// Interfaces the default selection left out past its bound.
        var skipped: [String] = []
        /// Where each interface's coverage counts from: when capture on it first started.
        var baselines: [String: InterfaceBaseline] = [:]
    }

    /// The `interface` label under which the counters of default-selected interfaces that
    /// went away are summed, so that counters never go backwards and interfaces that come
    /// and go (container bridges) do not add series without end.
    public static let departedInterfaces = ""

    public init(settings: CaptureSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.aggregator = TrafficAggregator(accounting: TrafficAccounting(
            maxSeries: settings.maxSeries, localAddresses: HostInterfaces.localAddresses(networks: settings.localNetworks),
            ephemeralPorts: EphemeralPortRange.read()), maxDNSNames: settings.maxDNSNames,
            captureClock: { UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000)) })
    }

    public func run() async throws {
        aggregator.start()
        logLocalAddresses(aggregator.withAccounting { $0.localAddresses })
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
        let interfaces = HostInterfaces.list()
        let local = HostInterfaces.localAddresses(of: interfaces, networks: settings.localNetworks)
        let changed = aggregator.withAccounting { accounting -> Bool in
            guard accounting.localAddresses.addresses != local.addresses
                    || accounting.localAddresses.hardwareAddresses != local.hardwareAddresses else { return false }
            accounting.localAddresses = local
            return true
        }
        let wanted = wantedInterfaces(of: interfaces)
        reapEndedSources(wanted: Set(wanted))
        // Sources opened below start with `local`; the others learn of a change only.
        if changed {
            for source in state.withLock({ Array($0.sources.values) }) { source.setLocalAddresses(local) }
            logLocalAddresses(local)
        }
        for interface in wanted where state.withLock({ $0.sources[interface] == nil }) {
            open(interface, local: local, loopback: interfaces.first { $0.name == interface }?.isLoopback ?? false)
        }
    }

    /// Logs (at debug level) the host's addresses the capture counts by: at the start, and
    /// after each change, once every source has them.
    private func logLocalAddresses(_ local: LocalAddresses) {
        logger.debug("local addresses", metadata: ["addresses": "\(local.addresses.map(\.description).joined(separator: ","))"])
    }

    /// The interfaces named by -capture-interfaces, or else those of `interfaces` (the
    /// host's, `HostInterfaces.list()`) selected by default (up to -capture-max-interfaces;
    /// the ones left out are logged when they change).
    private func wantedInterfaces(of interfaces: [HostInterface]) -> [String] {
        guard settings.interfaces.isEmpty else { return settings.interfaces }
        let selection = HostInterfaces.defaultCaptureInterfaces(from: interfaces, limit: settings.maxDefaultInterfaces)
        let changed = state.withLock { state in
            defer { state.skipped = selection.skipped }
            return state.skipped != selection.skipped
        }
        if changed && !selection.skipped.isEmpty {
            logger.warning("capturing on \(selection.selected.count) interfaces, the most -capture-max-interfaces allows; not on \(selection.skipped.joined(separator: ", "))")
        }
        return selection.selected
    }

    /// Opens the wanted interfaces' capture handles now, without capturing yet, so that
    /// what needs privilege is open before the agent drops it; run() starts them.
    public func openInterfaces() {
        for interface in wantedInterfaces(of: HostInterfaces.list()) {
            do {
                let handle = try openLive(interface)
                state.withLock { $0.opened[interface] = handle }
            } catch {
                noteFailure(interface, error.description)
            }
        }
    }

    /// The handle options: DNS responses captured whole when names are wanted.
    private var liveOptions: LiveCaptureOptions {
        var options = settings.options
        options.wholeDNSResponses = settings.maxDNSNames > 0
        return options
    }

    /// Starts capturing on `interface` (a `loopback` one or not), with the handle
    /// `openInterfaces` left for it if there is one.
    private func open(_ interface: String, local: LocalAddresses, loopback: Bool) {
        do {
            let handle: PcapHandle
            if let opened = state.withLock({ $0.opened.removeValue(forKey: interface) }) {
                handle = opened
            } else {
                handle = try openLive(interface)
            }
            if handle.linkType == nil {
                logger.warning("interface \(interface): link-layer type \(handle.linkTypeNumber) is not decoded; its frames count as undecoded (unsupported_link)")
            }
            let aggregator = self.aggregator
            let source = CaptureSource(handle: handle, policy: .drop, wakeUp: aggregator.wakeUp,
                                       decodesDNS: settings.maxDNSNames > 0, localAddresses: local, loopback: loopback,
                                       drainIfFree: { aggregator.drainIfFree($0, dns: $1) })
            aggregator.attach(source.ring)
            if let dns = source.dnsRing { aggregator.attach(dns: dns) }
            source.start()
            state.withLock {
                $0.sources[interface] = source
                $0.failures[interface] = nil
                $0.lastLogged[interface] = nil
            }
            logger.info("capturing", metadata: ["interface": "\(interface)", "filter": "\(settings.options.filter)"])
        } catch {
            noteFailure(interface, error.description)
        }
    }

    /// Opens a capture handle on `interface` and notes the kernel's counters of it then,
    /// unless coverage already counts from an earlier capture of the same interface.
    private func openLive(_ interface: String) throws(CaptureError) -> PcapHandle {
        let handle = try PcapHandle.openLive(interface: interface, options: liveOptions)
        // Read once the handle is open: from here on every frame is captured or counted dropped.
        if let kernel = InterfaceStatistics.read(interface: interface) {
            let index = HostInterfaces.index(of: interface)
            state.withLock { state in
                if state.baselines[interface]?.continues(index: index, kernel: kernel) != true {
                    state.baselines[interface] = InterfaceBaseline(index: index, kernel: kernel,
                                                                   captured: state.retired[interface] ?? CaptureCounters())
                }
            }
        }
        return handle
    }

    /// The own counters of each interface captured on, now, beside `sources` (read just before).
    func interfaceCoverage(_ sources: [SourceCounters]) -> [InterfaceCoverage] {
        let baselines = state.withLock { $0.baselines }
        return sources.compactMap { source in
            guard let baseline = baselines[source.interface],
                  let kernel = InterfaceStatistics.read(interface: source.interface) else { return nil }
            return InterfaceCoverage(interface: source.interface, kernel: kernel, baseline: baseline, captured: source.counters)
        }
    }

    /// Records why `interface` could not be opened.
    private func noteFailure(_ interface: String, _ message: String) {
        let isNew = state.withLock { state -> Bool in
            state.failures[interface] = message
            defer { state.lastLogged[interface] = message }
            return state.lastLogged[interface] != message
        }
        // Log a failure once, not every retry, so a missing interface does not flood the log.
        if isNew {
            logger.error("\(message); retrying every \(settings.interval)")
        } else {
            logger.debug("\(message); still retrying")
        }
    }

    /// Closes the sources that ended and those no longer `wanted`. An explicitly named
    /// interface that ends is a failure until it reopens; a default-selected one that
    /// went away (or no longer qualifies) is simply no longer captured, and its counters
    /// join `departedInterfaces`.
    private func reapEndedSources(wanted: Set<String>) {
        let ended = state.withLock { state -> [(String, CaptureSource)] in
            state.sources.filter { $0.value.error != nil || $0.value.hasFinished || !wanted.contains($0.key) }
                .map { ($0.key, $0.value) }
        }
        for (interface, source) in ended {
            source.stop()
            aggregator.detach(source.ring)
            if let dns = source.dnsRing { aggregator.detach(dns: dns) }
            let reason = source.error?.description ?? "\(interface): capture ended"
            if wanted.contains(interface) {
                logger.error("\(reason); reopening")
            } else {
                logger.info("interface \(interface) is gone or no longer selected by default; capture on it stopped")
            }
            state.withLock { state in
                state.sources[interface] = nil
                state.retired[interface] = (state.retired[interface] ?? CaptureCounters()) + source.counters
                if wanted.contains(interface) { state.failures[interface] = reason }
            }
        }
        state.withLock { state in
            // Failures of interfaces nobody wants any more are not failures.
            state.failures = state.failures.filter { wanted.contains($0.key) }
            state.lastLogged = state.lastLogged.filter { wanted.contains($0.key) }
            state.baselines = state.baselines.filter { wanted.contains($0.key) }
            guard settings.interfaces.isEmpty else { return }
            for (name, counters) in state.retired where name != Self.departedInterfaces
                && !wanted.contains(name) && state.sources[name] == nil {
                state.retired[Self.departedInterfaces] = (state.retired[Self.departedInterfaces] ?? CaptureCounters()) + counters
                state.retired[name] = nil
            }
        }
    }

    /// Per-interface counters including those of earlier handles of the same interface.
    public func sourceCounters() -> [SourceCounters] {
        state.withLock { state in
            let names = Set(state.sources.keys).union(state.retired.keys).sorted()
            return names.map { name in
                let retired = state.retired[name] ?? CaptureCounters()
                return (name, state.sources[name].map { retired + $0.counters } ?? retired)
            }
        }
    }

    /// Interfaces that are wanted but not capturing, with the reason.
    public var failures: [String: String] { state.withLock { $0.failures } }

    /// Interfaces capturing now.
    public var activeInterfaces: [String] { state.withLock { $0.sources.keys.sorted() } }

    /// What a scrape shows: the traffic counted so far, each interface's counters, and
    /// whether every wanted interface is capturing.
    public func reading() -> CaptureReading {
        let snapshot = aggregator.snapshot()
        let (healthy, skipped) = state.withLock { ($0.failures.isEmpty && !$0.sources.isEmpty, $0.skipped.count) }
        let sources = sourceCounters()
        return CaptureReading(snapshot: snapshot, sources: sources, healthy: healthy, skippedInterfaces: skipped,
                              interfaces: interfaceCoverage(sources))
    }
}
