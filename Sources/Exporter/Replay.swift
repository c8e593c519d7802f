import Capture
import Exposition
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

    /// Replays `files` in order. Files that cannot be read are reported and skipped; a
    /// file that breaks off part way keeps what was counted before the break.
    public static func run(files: [String], localAddresses: LocalAddresses, maxSeries: Int,
                           ephemeralPorts: EphemeralPortRange = .linuxDefault,
                           enrichment: Enrichment = .none) -> Result {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(
            maxSeries: maxSeries, localAddresses: localAddresses, ephemeralPorts: ephemeralPorts))
        aggregator.start()
        var errors: [String] = []
        var sources: [TrafficMetrics.SourceCounters] = []
        for file in files {
            let source: CaptureSource
            do {
                source = CaptureSource(handle: try PcapHandle.openOffline(path: file), policy: .wait)
            } catch {
                errors.append(error.description)
                continue
            }
            aggregator.attach(source.ring)
            source.run()
            aggregator.detach(source.ring)
            if let failure = source.error { errors.append(failure.description) }
            sources.append((file, source.counters))
        }
        aggregator.stop()
        let snapshot = aggregator.snapshot()
        var writer = ExpositionWriter(reservingCapacity: 256 * max(16, snapshot.seriesCount))
        TrafficMetrics.renderTraffic(snapshot, local: enrichment.local, lookup: enrichment.lookup, into: &writer)
        TrafficMetrics.renderSelf(snapshot, sources: sources, into: &writer)
        return Result(exposition: writer.bytes, errors: errors)
    }
}
