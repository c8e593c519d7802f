import Capture
import Exposition
import Inventory
import PlanetMetrics
import NetAddress
import Traffic

/// Counts capture files through the same decoder, ring and aggregator as live capture
/// and renders the result (`planet-exporter replay`).
public enum Replay {
    /// What a replay produced: the exposition, and one line per file that failed.
    public struct Result: Sendable {
        public var exposition: [UInt8]
        public var errors: [String]
    }

    /// Inventory labels for a replay. Peers are labelled from `inventory`. The local labels
    /// are the capture's host's: when `localNetworks` names single addresses (a /32 or
    /// /128, the host whose capture it is), they come from the inventory entry of the
    /// first of those addresses, in the order given, that the inventory knows, and are
    /// empty when it knows none; otherwise they are `hostAddress`'s, the machine running
    /// the replay, as for the live agent.
    public static func enrichment(inventory: Inventory, localNetworks: [IPNetwork],
                                  hostAddress: @autoclosure () -> IPAddress) -> Enrichment {
        let singles = localNetworks.filter { $0.bits == 128 }.map(\.address)
        var enrichment = Enrichment(inventory: inventory, hostAddress: singles.first ?? hostAddress())
        if !singles.isEmpty {
            enrichment.local = singles.lazy.compactMap { inventory.lookup($0) }.first ?? .unknown
        }
        return enrichment
    }

    /// Replays `files` in order and returns the whole exposition with the errors.
    public static func run(files: [String], localAddresses: LocalAddresses, maxSeries: Int,
                           maxDNSNames: Int = AgentDefaults.maxDNSNames,
                           ephemeralPorts: EphemeralPortRange = .linuxDefault,
                           enrichment: Enrichment = .none) -> Result {
        var exposition: [UInt8] = []
        let errors = run(files: files, localAddresses: localAddresses, maxSeries: maxSeries, maxDNSNames: maxDNSNames,
                         ephemeralPorts: ephemeralPorts, enrichment: enrichment) { exposition.append(contentsOf: $0) }
        return Result(exposition: exposition, errors: errors)
    }

    /// Replays `files` in order, handing the exposition to `write` part by part (so
    /// memory stays at one part however many series there are), and returns one line
    /// per file that failed. Files that cannot be read are skipped; a file that breaks
    /// off part way keeps what was counted before the break.
    public static func run(files: [String], localAddresses: LocalAddresses, maxSeries: Int,
                           maxDNSNames: Int = AgentDefaults.maxDNSNames,
                           ephemeralPorts: EphemeralPortRange = .linuxDefault,
                           enrichment: Enrichment = .none, write: ([UInt8]) -> Void) -> [String] {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(
            maxSeries: maxSeries, localAddresses: localAddresses, ephemeralPorts: ephemeralPorts), maxDNSNames: maxDNSNames)
        aggregator.start()
        var errors: [String] = []
        var sources: [SourceCounters] = []
        for file in files {
            let source: CaptureSource
            do {
                source = CaptureSource(handle: try PcapHandle.openOffline(path: file), policy: .wait,
                                       wakeUp: aggregator.wakeUp, decodesDNS: maxDNSNames > 0, localAddresses: localAddresses)
            } catch {
                errors.append(error.description)
                continue
            }
            aggregator.attach(source.ring)
            if let dns = source.dnsRing { aggregator.attach(dns: dns) }
            source.run()
            aggregator.detach(source.ring)
            if let dns = source.dnsRing { aggregator.detach(dns: dns) }
            if let failure = source.error { errors.append(failure.description) }
            sources.append((file, source.counters))
        }
        aggregator.stop()
        // Handshakes time out against the latest packet of any kind, not only of TCP.
        let latest = sources.map(\.counters.latestPacketMicros).max() ?? 0
        aggregator.withAccounting { $0.tcpHealth.advanceClock(to: latest) }
        let snapshot = aggregator.snapshot()
        var writer = ExpositionWriter(reservingCapacity: MetricsRegistry.partBytes + 4096)
        var traffic = TrafficRenderer(snapshot, local: enrichment.local, lookup: enrichment.lookup)
        while !traffic.render(upTo: 2000, into: &writer) {
            if writer.bytes.count >= MetricsRegistry.partBytes {
                write(writer.bytes)
                writer.removeAll()
            }
        }
        CaptureSelfMetrics.render(snapshot, sources: sources, into: &writer)
        var health = TCPHealthRenderer(snapshot.tcpHealth)
        while !health.render(upTo: 2000, into: &writer) {
            if writer.bytes.count >= MetricsRegistry.partBytes {
                write(writer.bytes)
                writer.removeAll()
            }
        }
        write(writer.bytes)
        return errors
    }
}
