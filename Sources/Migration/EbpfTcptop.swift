import Diagnostics
import Exposition
import NetAddress

/// Bytes one process moved over one TCP connection, as ebpf_exporter's tcptop counted them.
public struct EbpfRecord: Sendable, Hashable {
    /// The process that sent or received (its thread group id).
    public var pid: UInt32
    /// This host's address of the connection (`saddr`).
    public var source: IPAddress
    /// The peer's address (`daddr`).
    public var destination: IPAddress
    /// This host's port (`lport`).
    public var localPort: UInt16
    /// The peer's port (`dport`).
    public var remotePort: UInt16
    /// `send` counters are egress, `recv` counters ingress.
    public var direction: Direction
    /// Bytes since ebpf_exporter started.
    public var bytes: UInt64

    /// A record of one tcptop sample.
    public init(pid: UInt32, source: IPAddress, destination: IPAddress, localPort: UInt16, remotePort: UInt16,
                direction: Direction, bytes: UInt64) {
        self.pid = pid
        self.source = source
        self.destination = destination
        self.localPort = localPort
        self.remotePort = remotePort
        self.direction = direction
        self.bytes = bytes
    }
}

/// What one ebpf_exporter scrape gave: one record per tcptop sample, and the samples skipped.
public struct EbpfConversion: Sendable {
    /// Records in the exposition's order.
    public var records: [EbpfRecord]
    /// Lines skipped, malformed or unusable, in line order (at most
    /// `ExpositionParser.maxRecordedProblems`).
    public var problems: [ExpositionProblem]
    /// How many lines were skipped in all.
    public var problemCount: Int
    /// Samples skipped because the peer address is this host's own.
    public var skippedLocal: Int
    /// Samples past the `maxRecords` bound, left out.
    public var droppedSamples = 0
}

/// Reads ebpf_exporter's tcptop counters (`ebpf_exporter_ipv{4,6}_{send,recv}_bytes` with
/// labels pid, saddr, daddr, lport, dport) into per-connection records.
public enum EbpfTcptop {
    /// The four families and the direction each one counts.
    public static let families: [(name: String, direction: Direction)] = [
        ("ebpf_exporter_ipv4_send_bytes", .egress),
        ("ebpf_exporter_ipv4_recv_bytes", .ingress),
        ("ebpf_exporter_ipv6_send_bytes", .egress),
        ("ebpf_exporter_ipv6_recv_bytes", .ingress),
    ]

    /// Bytes per peer and direction, as the Go original reports tcptop: pids and ports
    /// are summed away, since client ports and pids would make a series per connection.
    /// A sum past 2^64 saturates: a wrapped counter would look like a reset to Prometheus.
    public static func peerTotals(_ records: [EbpfRecord]) -> [TrafficRecord] {
        var totals: [PeerDirection: UInt64] = [:]
        for record in records {
            let key = PeerDirection(remote: record.destination, direction: record.direction)
            let (sum, overflow) = totals[key, default: 0].addingReportingOverflow(record.bytes)
            totals[key] = overflow ? .max : sum
        }
        return totals.map { TrafficRecord(remote: $0.key.remote, direction: $0.key.direction, bytes: $0.value) }
    }

    /// Most records kept from one scrape by default.
    public static let defaultMaxRecords = 200_000

    /// Converts an ebpf_exporter response body; throws when it holds none of the tcptop
    /// families. The body is read in place and each sample converted as it is read.
    public static func convert(exposition bytes: [UInt8], local: LocalAddresses,
                               maxRecords: Int = defaultMaxRecords) throws(MigrationError) -> EbpfConversion {
        try Conversion(local: local, maxRecords: maxRecords).run(exposition: bytes)
    }

    /// Converts an already parsed ebpf_exporter exposition.
    ///
    /// Any one of the four families is enough: the tcptop.yaml shipped with the Go
    /// original exports only the IPv4 pair. Samples with a label missing or out of range
    /// or a value that is not a byte count are skipped and reported; connections whose
    /// peer (`daddr`) is in `local` (loopback talk, say) are skipped silently. Past
    /// `maxRecords` records, samples are counted, not kept.
    public static func convert(_ parsed: ExpositionParseResult, local: LocalAddresses,
                               maxRecords: Int = defaultMaxRecords) throws(MigrationError) -> EbpfConversion {
        try Conversion(local: local, maxRecords: maxRecords).run(parsed: parsed)
    }

    /// The conversion of one scrape, fed one sample at a time.
    struct Conversion: SampleConversion {
        let local: LocalAddresses
        let maxRecords: Int
        var records: [EbpfRecord] = []
        var tally = ConversionTally()

        init(local: LocalAddresses, maxRecords: Int) {
            self.local = local
            self.maxRecords = max(0, maxRecords)
        }

        mutating func add(_ sample: ParsedSample) {
            guard let direction = families.first(where: { $0.name == sample.name })?.direction else { return }
            tally.samples += 1
            do throws(ExpositionProblem) {
                let record = try record(from: sample, direction: direction)
                if local.contains(record.destination) {
                    tally.skippedLocal += 1
                } else if records.count < maxRecords {
                    records.append(record)
                } else {
                    tally.dropped += 1
                }
            } catch {
                tally.reject(error)
            }
        }

        func finish(_ parsed: ExpositionParseResult) throws(MigrationError) -> EbpfConversion {
            guard tally.samples > 0 || families.contains(where: { parsed.mentions($0.name) }) else {
                throw MigrationError.missingFamily(
                    source: "ebpf_exporter", families: "tcptop (ebpf_exporter_ipv4_send_bytes and friends)",
                    parsed: parsed, flag: "-task-ebpf-addr")
            }
            if let first = tally.firstUnusable, records.isEmpty, tally.skippedLocal == 0, tally.dropped == 0 {
                throw MigrationError("ebpf_exporter: none of \(tally.samples) tcptop samples could be used, first \(first)")
            }
            let log = tally.problems.merged(with: parsed)
            return EbpfConversion(records: records, problems: log.sorted, problemCount: log.count,
                                  skippedLocal: tally.skippedLocal, droppedSamples: tally.dropped)
        }
    }

    private static func record(from sample: ParsedSample, direction: Direction) throws(ExpositionProblem) -> EbpfRecord {
        func label(_ name: String) throws(ExpositionProblem) -> String {
            guard let value = sample.label(name) else {
                throw ExpositionProblem(line: sample.line, reason: "\(sample.name) has no \(name) label")
            }
            return value
        }
        func address(_ name: String) throws(ExpositionProblem) -> IPAddress {
            let text = try label(name)
            guard let address = IPAddress(text) else {
                throw ExpositionProblem(line: sample.line, reason: "\(name) \(quoted(text)) is not an IP address")
            }
            return address
        }
        func port(_ name: String) throws(ExpositionProblem) -> UInt16 {
            let text = try label(name)
            guard let port = UInt16(text) else {
                throw ExpositionProblem(line: sample.line, reason: "\(name) \(quoted(text)) is not a port number")
            }
            return port
        }
        let pidText = try label("pid")
        guard let pid = UInt32(pidText) else {
            throw ExpositionProblem(line: sample.line, reason: "pid \(quoted(pidText)) is not a process id")
        }
        let source = try address("saddr")
        let destination = try address("daddr")
        let localPort = try port("lport")
        let remotePort = try port("dport")
        guard let bytes = byteCount(sample.value) else {
            throw ExpositionProblem(line: sample.line, reason: "value \(ExpositionWriter.format(sample.value)) is not a byte count")
        }
        return EbpfRecord(pid: pid, source: source, destination: destination, localPort: localPort,
                          remotePort: remotePort, direction: direction, bytes: bytes)
    }
}
