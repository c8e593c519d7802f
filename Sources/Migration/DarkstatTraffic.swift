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
}

/// Reads darkstat's `/metrics` (`host_bytes_total{interface, ip, mac, dir}`) into traffic.
///
/// darkstat counts per host: `dir="in"` is what that host received and `dir="out"` what
/// it sent. For a peer of ours, what it sent arrives here, so `out` is ingress and `in`
/// is egress, the mapping the Go original uses.
public enum Darkstat {
    /// The family darkstat writes.
    public static let metricName = "host_bytes_total"

    /// Converts a darkstat response body; throws when it is not darkstat's metrics at all.
    public static func convert(exposition bytes: [UInt8], local: LocalAddresses) throws(MigrationError) -> DarkstatConversion {
        try convert(ExpositionParser.parse(bytes), local: local)
    }

    /// Converts an already parsed darkstat exposition.
    ///
    /// Samples whose `ip` is not an address, whose `dir` is neither `in` nor `out`, or
    /// whose value is not a byte count are skipped and reported; addresses in `local`
    /// are skipped silently. Samples for one peer and direction are summed (one darkstat
    /// can list a peer under several interfaces or MACs, and `::ffff:a.b.c.d` is `a.b.c.d`).
    public static func convert(_ parsed: ExpositionParseResult, local: LocalAddresses) throws(MigrationError) -> DarkstatConversion {
        guard parsed.mentions(metricName) else {
            throw MigrationError.missingFamily(
                source: "darkstat", families: metricName, parsed: parsed, flag: "-task-darkstat-addr")
        }
        var totals: [PeerDirection: UInt64] = [:]
        var problems = ProblemLog(parsed: parsed)
        var firstUnusable: ExpositionProblem?
        func reject(_ sample: ParsedSample, _ reason: String) {
            let problem = ExpositionProblem(line: sample.line, reason: reason)
            firstUnusable = firstUnusable ?? problem
            problems.add(problem)
        }
        var skippedLocal = 0
        var samples = 0
        for sample in parsed.samples where sample.name == metricName {
            samples += 1
            guard let ipText = sample.label("ip") else {
                reject(sample, "\(metricName) has no ip label")
                continue
            }
            guard let remote = IPAddress(ipText) else {
                reject(sample, "ip \(quoted(ipText)) is not an IP address")
                continue
            }
            let direction: Direction
            switch sample.label("dir") {
            case "out": direction = .ingress
            case "in": direction = .egress
            case nil:
                reject(sample, "\(metricName) has no dir label")
                continue
            case let other?:
                reject(sample, "dir \(quoted(other)) is neither \"in\" nor \"out\"")
                continue
            }
            guard let bytes = byteCount(sample.value) else {
                reject(sample, "value \(ExpositionWriter.format(sample.value)) is not a byte count")
                continue
            }
            if local.contains(remote) {
                skippedLocal += 1
                continue
            }
            let key = PeerDirection(remote: remote, direction: direction)
            let (sum, overflow) = totals[key, default: 0].addingReportingOverflow(bytes)
            if overflow {
                reject(sample, "bytes for \(remote) \(direction) overflow 64 bits")
                continue
            }
            totals[key] = sum
        }
        if let firstUnusable, totals.isEmpty, skippedLocal == 0 {
            throw MigrationError("darkstat: none of \(samples) \(metricName) samples could be used, first \(firstUnusable)")
        }
        let records = totals
            .map { TrafficRecord(remote: $0.key.remote, direction: $0.key.direction, bytes: $0.value) }
            .sorted { ($0.remote, $0.direction) < ($1.remote, $1.direction) }
        return DarkstatConversion(records: records, problems: problems.sorted, problemCount: problems.count,
                                  skippedLocal: skippedLocal)
    }
}

struct PeerDirection: Hashable {
    var remote: IPAddress
    var direction: Direction
}
