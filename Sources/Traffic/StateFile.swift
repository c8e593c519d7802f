import Diagnostics
import NetAddress
import PacketDecoding

/// What the agent keeps across restarts: what a person would miss after one (the graphs,
/// the peers' DNS names) and what the counting rules learned from traffic and would label
/// differently until they learned it again (servers seen in handshakes, UDP server ports).
/// Never the traffic counters: /metrics counters start at zero after a restart.
public struct AgentState: Sendable, Equatable {
    /// The history's buckets that hold bytes, per range, oldest first.
    public var history: [HistoryRange: [HistoryBucket]]
    /// The DNS name table, least recently answered first.
    public var dnsNames: [SavedDNSName]
    public var learned: LearnedServers

    public init(history: [HistoryRange: [HistoryBucket]] = [:], dnsNames: [SavedDNSName] = [],
                learned: LearnedServers = LearnedServers()) {
        self.history = history
        self.dnsNames = dnsNames
        self.learned = learned
    }
}

/// The parts of a state file, as `planet_state_restored{part}` names them.
public enum StatePart: String, CaseIterable, Sendable {
    /// History buckets (all four ranges).
    case history
    /// Addresses with a DNS name.
    case dnsNames = "dns_names"
    /// TCP servers learned from handshakes.
    case tcpServers = "tcp_servers"
    /// UDP server ports learned from their peers.
    case udpServerPorts = "udp_server_ports"
}

/// Why a state file cannot be used, in one line.
public struct StateFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// The agent's state file: a small binary format, versioned and checksummed, that names
/// the host that wrote it.
///
/// ```
/// "PESTATE\n"  version u32  host length u8, host  saved at i64  body length u32
/// body: sections, each a tag u8 and its records  CRC-32 (IEEE) of all the bytes before it, u32
/// ```
/// Integers are little-endian. Sections (each at most once, in any order):
/// 1 history: count u32, then range u8 (0 minute, 1 hour, 2 day, 3 month), start i64,
///   ingress u64, egress u64; 2 DNS names: name count u32, then length u8 and bytes; address
///   count u32, then address (16 bytes, IPv4 v4-mapped), expiry i64, name index u32;
/// 3 TCP servers: count u32, then address (16 bytes), port u16; 4 UDP server ports: count
/// u32, then port u16. A reader refuses a newer version, another host, a wrong checksum, a
/// file longer than `maxBytes` or any record it would not write.
public enum StateFile {
    /// The file's name in the state directory.
    public static let fileName = "planet-exporter.state"
    /// The format version this agent writes and reads.
    public static let version: UInt32 = 1
    /// The largest file an agent keeping at most `dnsNames` DNS names writes: every name
    /// distinct and of the longest length, every TCP server slot used, every history
    /// bucket, and room to spare. A longer file is refused unread. About 5 MB at the
    /// default 16,384 names.
    public static func maxBytes(dnsNames: Int) -> Int {
        let names = max(0, dnsNames) * (1 + DNSAnswers.maxNameLength + 28)
        let servers = ServerEndpointCache.defaultSize * 18
        let history = HistoryRange.allCases.reduce(0) { $0 + $1.bucketCount } * 25
        return 65536 + names + servers + history
    }

    static let magic = Array("PESTATE\n".utf8)

    private enum Section: UInt8 {
        case history = 1, dnsNames = 2, tcpServers = 3, udpServerPorts = 4
    }

    /// The bytes of `state`, written by `host` at `savedAt` (seconds since 1970).
    public static func encode(_ state: AgentState, host: String, savedAt: Int64) -> [UInt8] {
        var out = StateWriter()
        out.bytes.append(contentsOf: magic)
        out.u32(version)
        let hostBytes = Array(host.utf8.prefix(255))
        out.u8(UInt8(hostBytes.count))
        out.bytes.append(contentsOf: hostBytes)
        out.u64(UInt64(bitPattern: savedAt))
        let lengthAt = out.bytes.count
        out.u32(0)
        let bodyStart = out.bytes.count

        let ranges = HistoryRange.allCases
        let buckets = ranges.enumerated().flatMap { index, range in (state.history[range] ?? []).map { (index, $0) } }
        out.u8(Section.history.rawValue)
        out.u32(UInt32(buckets.count))
        for (index, bucket) in buckets {
            out.u8(UInt8(index))
            out.u64(UInt64(bitPattern: bucket.start))
            out.u64(bucket.ingressBytes)
            out.u64(bucket.egressBytes)
        }

        var nameIndex: [String: UInt32] = [:]
        var names: [String] = []
        for item in state.dnsNames where nameIndex[item.name] == nil {
            nameIndex[item.name] = UInt32(names.count)
            names.append(item.name)
        }
        out.u8(Section.dnsNames.rawValue)
        out.u32(UInt32(names.count))
        for name in names {
            let bytes = name.utf8.prefix(255)
            out.u8(UInt8(bytes.count))
            out.bytes.append(contentsOf: bytes)
        }
        out.u32(UInt32(state.dnsNames.count))
        for item in state.dnsNames {
            out.address(item.address)
            out.u64(UInt64(bitPattern: item.expiry))
            out.u32(nameIndex[item.name]!)
        }

        out.u8(Section.tcpServers.rawValue)
        out.u32(UInt32(state.learned.tcpServers.count))
        for server in state.learned.tcpServers {
            out.address(server.address)
            out.u16(server.port)
        }

        out.u8(Section.udpServerPorts.rawValue)
        out.u32(UInt32(state.learned.udpServerPorts.count))
        for port in state.learned.udpServerPorts { out.u16(port) }

        let bodyLength = UInt32(out.bytes.count - bodyStart)
        for shift in 0..<4 { out.bytes[lengthAt + shift] = UInt8(truncatingIfNeeded: bodyLength >> (8 * shift)) }
        out.u32(crc32(out.bytes[...]))
        return out.bytes
    }

    /// Reads a state file written on `host`, at most `maxBytes` long; the error says in one
    /// line why it cannot be used.
    public static func decode(_ bytes: [UInt8], host: String, maxBytes: Int) throws(StateFileError) -> (state: AgentState, savedAt: Int64) {
        guard bytes.count <= maxBytes else {
            throw StateFileError("it is \(bytes.count) bytes, more than the \(maxBytes) a state file may have")
        }
        var reader = StateReader(bytes: bytes[...])
        guard bytes.starts(with: magic) else { throw StateFileError("it is not a planet-exporter state file (no PESTATE header)") }
        reader.offset = magic.count
        let fileVersion = try reader.u32()
        guard fileVersion != 0 else { throw StateFileError("format version 0 does not exist") }
        guard fileVersion <= version else {
            throw StateFileError("format version \(fileVersion) is newer than this agent's (\(version)); it was written by a later release")
        }
        let hostLength = Int(try reader.u8())
        let fileHost = String(decoding: try reader.take(hostLength), as: UTF8.self)
        let savedAt = Int64(bitPattern: try reader.u64())
        let bodyLength = Int(try reader.u32())
        let bodyStart = reader.offset
        guard bodyLength <= bytes.count - bodyStart, bytes.count - bodyStart - bodyLength >= 4 else {
            throw StateFileError("it is truncated: \(bytes.count) bytes, the header announces \(bodyStart + bodyLength + 4)")
        }
        guard bytes.count == bodyStart + bodyLength + 4 else {
            throw StateFileError("it has \(bytes.count - bodyStart - bodyLength - 4) bytes after its checksum")
        }
        var checksumReader = StateReader(bytes: bytes[...], offset: bodyStart + bodyLength)
        let stored = try checksumReader.u32()
        guard stored == crc32(bytes[..<(bodyStart + bodyLength)]) else {
            throw StateFileError("its checksum does not match its contents: the file is corrupt")
        }
        guard fileHost == host else {
            throw StateFileError("it was written on host \(quoted(fileHost)), and this is \(quoted(host))")
        }

        var state = AgentState()
        var seen = Set<UInt8>()
        var body = StateReader(bytes: bytes[..<(bodyStart + bodyLength)], offset: bodyStart)
        while !body.atEnd {
            let tag = try body.u8()
            guard let section = Section(rawValue: tag) else { throw StateFileError("unknown section \(tag) at byte \(body.offset - 1)") }
            guard seen.insert(tag).inserted else { throw StateFileError("section \(tag) appears twice") }
            switch section {
            case .history:
                for _ in 0..<(try body.count(recordSize: 25)) {
                    let rangeIndex = Int(try body.u8())
                    guard rangeIndex < HistoryRange.allCases.count else {
                        throw StateFileError("history range \(rangeIndex) at byte \(body.offset - 1) does not exist")
                    }
                    let start = Int64(bitPattern: try body.u64())
                    let bucket = HistoryBucket(start: start, ingressBytes: try body.u64(), egressBytes: try body.u64())
                    state.history[HistoryRange.allCases[rangeIndex], default: []].append(bucket)
                }
            case .dnsNames:
                var names: [String] = []
                for _ in 0..<(try body.count(recordSize: 2)) {
                    let length = Int(try body.u8())
                    let bytes = try body.take(length)
                    guard (1...DNSAnswers.maxNameLength).contains(length), bytes.allSatisfy(DNSAnswers.isNameByte) else {
                        throw StateFileError("DNS name at byte \(body.offset - length) is not one the decoder writes")
                    }
                    names.append(String(decoding: bytes, as: UTF8.self))
                }
                for _ in 0..<(try body.count(recordSize: 28)) {
                    let address = try body.address()
                    let expiry = Int64(bitPattern: try body.u64())
                    let index = Int(try body.u32())
                    guard index < names.count else { throw StateFileError("DNS name index \(index) at byte \(body.offset - 4) is out of range") }
                    state.dnsNames.append(SavedDNSName(address: address, name: names[index], expiry: expiry))
                }
            case .tcpServers:
                for _ in 0..<(try body.count(recordSize: 18)) {
                    state.learned.tcpServers.append(ServerEndpoint(address: try body.address(), port: try body.u16()))
                }
            case .udpServerPorts:
                for _ in 0..<(try body.count(recordSize: 2)) { state.learned.udpServerPorts.append(try body.u16()) }
            }
        }
        return (state, savedAt)
    }

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// CRC-32 as zlib and gzip compute it.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }
}

private struct StateWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { append(UInt64(value), count: 2) }
    mutating func u32(_ value: UInt32) { append(UInt64(value), count: 4) }
    mutating func u64(_ value: UInt64) { append(value, count: 8) }

    mutating func address(_ address: IPAddress) {
        u64(address.high)
        u64(address.low)
    }

    private mutating func append(_ value: UInt64, count: Int) {
        for shift in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * shift))) }
    }
}

/// Reads a state file's fields, every read bounds-checked: running off the end is an error
/// naming the byte, never a trap.
private struct StateReader {
    let bytes: ArraySlice<UInt8>
    var offset: Int

    init(bytes: ArraySlice<UInt8>, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var atEnd: Bool { offset >= bytes.endIndex }

    mutating func take(_ count: Int) throws(StateFileError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.endIndex - offset else {
            throw StateFileError("it is truncated: \(count) bytes needed at byte \(offset), \(max(0, bytes.endIndex - offset)) left")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    mutating func u8() throws(StateFileError) -> UInt8 { try take(1).first! }
    mutating func u16() throws(StateFileError) -> UInt16 { UInt16(try integer(2)) }
    mutating func u32() throws(StateFileError) -> UInt32 { UInt32(try integer(4)) }
    mutating func u64() throws(StateFileError) -> UInt64 { try integer(8) }

    mutating func address() throws(StateFileError) -> IPAddress {
        IPAddress(high: try u64(), low: try u64())
    }

    /// A record count, refused when that many records of `recordSize` bytes cannot fit in
    /// what is left: a corrupt count never makes the reader reserve or loop for nothing.
    mutating func count(recordSize: Int) throws(StateFileError) -> Int {
        let at = offset
        let count = Int(try u32())
        guard count <= (bytes.endIndex - offset) / recordSize else {
            throw StateFileError("the count \(count) at byte \(at) is more than the rest of the file holds")
        }
        return count
    }

    private mutating func integer(_ count: Int) throws(StateFileError) -> UInt64 {
        var value: UInt64 = 0
        for (shift, byte) in try take(count).enumerated() { value |= UInt64(byte) << (8 * shift) }
        return value
    }
}

extension TrafficAggregator {
    /// What the state file keeps, taken now: the learned servers and a copy of the DNS
    /// names under the lock (the names are sorted after it), the history's buckets from
    /// `history` (none without one).
    public func savedState(history: TrafficHistory?) -> AgentState {
        let (names, learned) = withAccounting { accounting in (dnsNameTable.snapshot, accounting.learnedServers) }
        return AgentState(history: history?.savedBuckets() ?? [:], dnsNames: names.savedNames, learned: learned)
    }

    /// Puts back what an earlier run saved, before counting starts; `time` is now, seconds
    /// since 1970. Returns how much of each part was restored.
    public func restore(_ state: AgentState, history: TrafficHistory?, at time: Double) -> [StatePart: Int] {
        let historyCount = history?.restore(state.history, at: time) ?? 0
        return withAccounting { accounting in
            accounting.restore(state.learned)
            let names = dnsNameTable.restore(state.dnsNames, at: Int64(time.rounded(.down)))
            // What is held: servers whose slots collided keep only the later one.
            let learned = accounting.learnedServers
            return [.history: historyCount, .dnsNames: names, .tcpServers: learned.tcpServers.count,
                    .udpServerPorts: learned.udpServerPorts.count]
        }
    }
}
