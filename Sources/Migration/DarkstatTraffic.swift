import Diagnostics
import Exposition
import NetAddress

/// Bytes exchanged with one peer in one direction, as darkstat counted them.
public struct TrafficRecord: Sendable, Hashable {
    /// The peer.
    public var remote: IPAddress
    /// Seen from this host.
    public var direction: Direction
    /// Bytes since darkstat started.
    public var bytes: UInt64

    /// A record of `bytes` with `remote` in `direction`.
    public init(remote: IPAddress, direction: Direction, bytes: UInt64) {
        self.remote = remote
        self.direction = direction
        self.bytes = bytes
    }
}

/// What one darkstat scrape gave: records per peer and direction, and the samples skipped.
public struct DarkstatConversion: Sendable {
    /// One record per (peer, direction), ordered by peer then direction.
    public var records: [TrafficRecord]
    /// Lines skipped, malformed or unusable, in line order (at most
    /// `ExpositionParser.maxRecordedProblems`).
    public var problems: [ExpositionProblem]
    /// How many lines were skipped in all.
    public var problemCount: Int
    /// Samples skipped because their address is this host's own.
    public var skippedLocal: Int
    /// Samples of peers past the `maxRecords` bound, left out.
    public var droppedSamples = 0
}

/// Reads darkstat's `/metrics` (`host_bytes_total{interface, ip, mac, dir}`) into traffic.
///
/// darkstat counts per host: `dir="in"` is what that host received and `dir="out"` what
/// it sent. For a peer of ours, what it sent arrives here, so `out` is ingress and `in`
/// is egress, the mapping the Go original uses.
public enum Darkstat {
    /// The family darkstat writes.
    public static let metricName = "host_bytes_total"
    /// Most records (peer and direction) kept from one scrape by default, as many as the
    /// traffic table holds by default.
    public static let defaultMaxRecords = 200_000

    /// Converts a darkstat response body; throws when it is not darkstat's metrics at all.
    /// The body is read in place and each sample converted as it is read, so memory is
    /// the records kept, never every sample at once.
    public static func convert(exposition bytes: [UInt8], local: LocalAddresses,
                               maxRecords: Int = defaultMaxRecords) throws(MigrationError) -> DarkstatConversion {
        try Conversion(local: local, maxRecords: maxRecords).run(exposition: bytes)
    }

    /// Converts an already parsed darkstat exposition.
    ///
    /// Samples whose `ip` is not an address, whose `dir` is neither `in` nor `out`, or
    /// whose value is not a byte count are skipped and reported; addresses in `local`
    /// are skipped silently. Samples for one peer and direction are summed (one darkstat
    /// can list a peer under several interfaces or MACs, and `::ffff:a.b.c.d` is `a.b.c.d`).
    /// Past `maxRecords` peers and directions, samples of new ones are counted, not kept.
    public static func convert(_ parsed: ExpositionParseResult, local: LocalAddresses,
                               maxRecords: Int = defaultMaxRecords) throws(MigrationError) -> DarkstatConversion {
        try Conversion(local: local, maxRecords: maxRecords).run(parsed: parsed)
    }

    /// The conversion of one scrape, fed one sample at a time.
    struct Conversion: SampleConversion {
        let local: LocalAddresses
        let maxRecords: Int
        var totals: [PeerDirection: UInt64] = [:]
        var tally = ConversionTally()

        init(local: LocalAddresses, maxRecords: Int) {
            self.local = local
            self.maxRecords = max(0, maxRecords)
        }

        mutating func reject(_ sample: ParsedSample, _ reason: String) {
            tally.reject(ExpositionProblem(line: sample.line, reason: reason))
        }

        mutating func add(_ sample: ParsedSample) {
            guard sample.name == metricName else { return }
            tally.samples += 1
            guard let ipText = sample.label("ip") else {
                reject(sample, "\(metricName) has no ip label")
                return
            }
            guard let remote = IPAddress(ipText) else {
                reject(sample, "ip \(quoted(ipText)) is not an IP address")
                return
            }
            let direction: Direction
            switch sample.label("dir") {
            case "out": direction = .ingress
            case "in": direction = .egress
            case nil:
                reject(sample, "\(metricName) has no dir label")
                return
            case let other?:
                reject(sample, "dir \(quoted(other)) is neither \"in\" nor \"out\"")
                return
            }
            guard let bytes = byteCount(sample.value) else {
                reject(sample, "value \(ExpositionWriter.format(sample.value)) is not a byte count")
                return
            }
            if local.contains(remote) {
                tally.skippedLocal += 1
                return
            }
            let key = PeerDirection(remote: remote, direction: direction)
            guard let total = totals[key] ?? (totals.count < maxRecords ? 0 : nil) else {
                tally.dropped += 1
                return
            }
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            if overflow {
                reject(sample, "bytes for \(remote) \(direction) overflow 64 bits")
                return
            }
            totals[key] = sum
        }

        func finish(_ parsed: ExpositionParseResult) throws(MigrationError) -> DarkstatConversion {
            guard tally.samples > 0 || parsed.mentions(metricName) else {
                throw MigrationError.missingFamily(
                    source: "darkstat", families: metricName, parsed: parsed, flag: "-task-darkstat-addr")
            }
            if let first = tally.firstUnusable, totals.isEmpty, tally.skippedLocal == 0, tally.dropped == 0 {
                throw MigrationError("darkstat: none of \(tally.samples) \(metricName) samples could be used, first \(first)")
            }
            let records = totals
                .map { TrafficRecord(remote: $0.key.remote, direction: $0.key.direction, bytes: $0.value) }
                .sorted { ($0.remote, $0.direction) < ($1.remote, $1.direction) }
            let log = tally.problems.merged(with: parsed)
            return DarkstatConversion(records: records, problems: log.sorted, problemCount: log.count,
                                      skippedLocal: tally.skippedLocal, droppedSamples: tally.dropped)
        }
    }
}

struct PeerDirection: Hashable {
    var remote: IPAddress
    var direction: Direction
}
