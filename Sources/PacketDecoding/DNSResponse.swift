import NetAddress

/// What one DNS response told the host: the name it asked for and the addresses
/// answered for it (through any CNAME chain), with their TTLs. Fixed size and trivially
/// copyable, so decoding it allocates nothing and it can travel through a ring.
@frozen
public struct DNSAnswers: BitwiseCopyable, Sendable {
    /// Most addresses kept from one response; the rest are counted in `droppedAddresses`.
    public static let capacity = 16
    /// Longest name kept, in bytes of its dotted form (a DNS name has at most 253).
    public static let maxNameLength = 253

    /// The queried name, lowercased and dotted, without the root's trailing dot; bytes
    /// that are not letters, digits, '-' or '_' inside a label are written as '?'.
    /// Written by `DNSResponseDecoder.readQuestionName`, not by `decode`.
    public var name: InlineArray<256, UInt8>
    public var nameLength: Int
    /// The answered addresses (A and AAAA records), `count` of them.
    public var addresses: InlineArray<16, IPAddress>
    /// The TTL of each address, in seconds.
    public var ttls: InlineArray<16, UInt32>
    public var count: Int
    /// A and AAAA records for the name beyond `capacity`.
    public var droppedAddresses: Int
    /// The message's DNS ID, which the query it answers carried.
    public var id: UInt16
    /// When the response was captured, in seconds since the epoch (set by the capture,
    /// not the decoder): with the TTLs it tells expired answers from live ones.
    public var capturedAt: Int64

    public init() {
        name = InlineArray(repeating: 0)
        nameLength = 0
        addresses = InlineArray(repeating: IPAddress(high: 0, low: 0))
        ttls = InlineArray(repeating: 0)
        count = 0
        droppedAddresses = 0
        id = 0
        capturedAt = 0
    }

    /// Empties it for the next decoding: the lengths and counts go to 0, and the bytes of
    /// `name` and `addresses` past them, which nothing reads, stay. A fresh value would
    /// write all of its 600 bytes, for every frame of a flood from port 53.
    @inlinable
    public mutating func clear() {
        nameLength = 0
        count = 0
        droppedAddresses = 0
        id = 0
        capturedAt = 0
    }

    /// Whether the decoder ever writes `byte` in `name`: lowercase letters, digits, '-' and
    /// '_' from the labels, '.' between them, '?' for any other byte.
    public static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "?"): true
        default: false
        }
    }

    /// The name as a String (for the table that keeps it, not for the packet path).
    public var nameText: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(nameLength)
        for index in 0..<nameLength { bytes.append(name[index]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The outcome of decoding a DNS message.
public enum DNSStatus: UInt8, Sendable, CaseIterable {
    /// A response with at least one address for the asked name.
    case ok
    /// A query, or a response to something other than a standard query.
    case notResponse
    /// A response without addresses for the asked name (NXDOMAIN, NODATA, only CNAMEs).
    case noAddresses
    /// The message ends before what its header announces.
    case truncated
    /// A field contradicts the format: bad label type, a compression pointer that does
    /// not point backwards (a loop), a name longer than 255 bytes, no question.
    case malformed
    /// A response cut by the snap length (in a capture file taken with a short one) whose
    /// answers before the cut hold addresses for the asked name, read whole: those name
    /// their addresses as an `ok` response's do.
    case partial

    /// Whether the message is a response that answers its query, with addresses or without
    /// (`.ok`, `.partial`, `.noAddresses`): it is checked against the outstanding queries,
    /// and its name read (`DNSResponseDecoder.readQuestionName`) when it matches one.
    public var answersItsQuery: Bool { self == .ok || self == .partial || self == .noAddresses }

    /// The `reason` label value of the DNS decoding metric.
    public var reason: String {
        switch self {
        case .ok: "ok"
        case .notResponse: "not_response"
        case .noAddresses: "no_addresses"
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .partial: "partial"
        }
    }
}

/// Reads DNS responses (RFC 1035, with compressed names): pure, allocation-free, safe on
/// any input. Every read is checked against the message length, and a compression
/// pointer must point before the run of labels that holds it, so a crafted loop ends as
/// `.malformed` after at most one jump per byte of the message.
public enum DNSResponseDecoder {
    /// How many names of a CNAME chain are followed (real chains have a handful).
    static let maxChain = 8
    /// Bytes kept per name of the chain.
    static let nameSpace = 256
    /// Bytes of one temporary allocation: the standard library keeps up to 1024 bytes on
    /// the stack unconditionally, so the chain's names take two of them, never the heap.
    static let halfChain = 1024

    /// Where the DNS message of a UDP datagram or TCP segment lies in its frame.
    enum Located {
        /// The message starts at `start`; the captured bytes that may hold it end at `end`.
        /// `whole` is false when a TCP segment holds less than its 2-byte length announces;
        /// `cut` is true when the captured bytes end before the datagram or segment does.
        case message(start: Int, end: Int, whole: Bool, cut: Bool)
        /// No message can be read: the status to count it with.
        case failed(DNSStatus)
        /// A TCP segment without data (a handshake, an acknowledgement, a close).
        case noData
    }

    /// Finds the DNS message in `frame`, whose decoded summary gave `span`: from the
    /// transport offset `PacketDecoder` handed over, so link and IP headers are not walked again.
    static func locate(_ frame: UnsafeRawBufferPointer, span: TransportSpan, wireLength: Int? = nil) -> Located {
        guard let base = frame.baseAddress, span.ipProtocol == 17 || span.ipProtocol == 6, span.hasPorts else {
            return .failed(.truncated)
        }
        let reader = FrameReader(base: base, count: frame.count)
        let transport = Int(span.offset)
        // The IP length ends the datagram or segment: Ethernet may pad a short frame.
        let end = min(frame.count, Int(span.end))
        // The capture kept less than the wire carried: a message running past the
        // captured bytes was cut by the snap length, not sent short.
        let frameCut = wireLength.map { frame.count < $0 } ?? false
        if span.ipProtocol == 17 {
            guard transport &+ 8 <= end else { return .failed(.truncated) }
            let udpLength = Int(reader.be16(transport &+ 4))
            let datagramEnd = udpLength >= 8 ? transport &+ udpLength : end
            return .message(start: transport &+ 8, end: min(end, datagramEnd), whole: true, cut: frameCut && frame.count < datagramEnd)
        }
        guard transport &+ 20 <= end else { return .failed(.truncated) }
        let dataOffset = Int(reader.u8(transport &+ 12) >> 4) &<< 2
        guard dataOffset >= 20 else { return .failed(.malformed) }
        let data = transport &+ dataOffset
        // Data offset past the captured bytes: the options were cut; past the IP end: no data.
        guard data < end else { return data > frame.count ? .failed(.truncated) : .noData }
        guard data &+ 2 <= end else { return .failed(.truncated) }
        let length = Int(reader.be16(data))
        let messageEnd = data &+ 2 &+ length
        // Cut: the capture did not keep all of the message; else whole when the segment
        // holds all of it (a message is decoded from one segment, never reassembled).
        let cut = frameCut && frame.count < messageEnd && end == frame.count
        let whole = cut || messageEnd <= end
        return .message(start: data &+ 2, end: min(end, messageEnd), whole: whole, cut: cut)
    }

    /// Decodes the DNS message carried by a UDP datagram or a TCP segment that
    /// `PacketDecoder` decoded from `frame`, `span` being its summary's `transportSpan`;
    /// `wireLength`, the frame's length on the wire, tells a message the snap length cut
    /// (`.partial` when the answers before the cut name addresses) from one sent short.
    /// `.truncated` when the captured bytes end inside the UDP or TCP header, or when a
    /// TCP segment does not hold the whole message its 2-byte length announces (DNS over
    /// TCP, RFC 1035 4.2.2; a message is decoded from one segment, never reassembled).
    /// Nil for a TCP segment without data (a handshake, an acknowledgement, a close):
    /// it carries no message to count. The queried name is left for `readQuestionName`.
    public static func decode(frame: UnsafeRawBufferPointer, span: TransportSpan, wireLength: Int? = nil,
                              into answers: inout DNSAnswers) -> DNSStatus? {
        answers.clear()
        switch locate(frame, span: span, wireLength: wireLength) {
        case .noData: return nil
        case .failed(let status): return status
        case .message(let start, let end, let whole, let cut):
            guard whole else { return .truncated }
            return decode(UnsafeRawBufferPointer(rebasing: frame[start..<end]), into: &answers, cut: cut)
        }
    }

    /// Writes the queried name of the response in `frame` into `answers.name`, once
    /// `decode(frame:span:wireLength:into:)` found that the response answers its query
    /// (`DNSStatus.answersItsQuery`) and the query was seen: a flood of
    /// answers nobody asked for is counted without writing out a name for each.
    public static func readQuestionName(frame: UnsafeRawBufferPointer, span: TransportSpan, into answers: inout DNSAnswers) {
        guard case .message(let start, let end, _, _) = locate(frame, span: span) else {
            answers.nameLength = 0
            return
        }
        readQuestionName(UnsafeRawBufferPointer(rebasing: frame[start..<end]), into: &answers)
    }

    /// `readQuestionName(frame:span:into:)` for the DNS message `message`, which
    /// `decode(_:into:cut:)` decoded. A name that does not read whole leaves `nameLength` 0.
    public static func readQuestionName(_ message: UnsafeRawBufferPointer, into answers: inout DNSAnswers) {
        answers.nameLength = 0
        guard let base = message.baseAddress, message.count > 12 else { return }
        let reader = FrameReader(base: base, count: message.count)
        // A name that reads whole is at most 253 bytes in canonical form: `name` holds it.
        let question = withUnsafeMutableBytes(of: &answers.name) { raw in
            readName(reader, at: 12, into: raw.assumingMemoryBound(to: UInt8.self))
        }
        guard question.status == .ok else { return }
        answers.nameLength = min(question.length, DNSAnswers.maxNameLength)
    }

    /// The ID of the standard query (QR clear, opcode 0) that `frame`, whose decoded
    /// summary gave `span`, carries; nil when it carries none. Only the first four bytes
    /// of the message are needed: a query cut by the snap length still has its ID.
    public static func queryID(frame: UnsafeRawBufferPointer, span: TransportSpan) -> UInt16? {
        guard case .message(let start, let end, _, _) = locate(frame, span: span), start &+ 4 <= end,
              let base = frame.baseAddress else { return nil }
        let reader = FrameReader(base: base, count: frame.count)
        guard reader.be16(start &+ 2) & 0xF800 == 0 else { return nil }
        return reader.be16(start)
    }

    /// Decodes the DNS message `message` (a UDP payload, or the data of a TCP segment after
    /// its 2-byte length) into `answers`, which is cleared first: its ID and the addresses
    /// answered for the queried name, which `readQuestionName` writes out. With `cut` (the
    /// capture kept only the start of the message), a message that ends inside its answers
    /// is `.partial` when the answers read whole before the cut hold addresses.
    public static func decode(_ message: UnsafeRawBufferPointer, into answers: inout DNSAnswers, cut: Bool = false) -> DNSStatus {
        answers.clear()
        guard let base = message.baseAddress, message.count >= 12 else { return .truncated }
        let reader = FrameReader(base: base, count: message.count)
        answers.id = reader.be16(0)
        let flags = reader.be16(2)
        // QR set and opcode 0 (QUERY): a response to a standard query.
        guard flags & 0x8000 != 0, (flags >> 11) & 0x0F == 0 else { return .notResponse }
        guard reader.be16(4) >= 1 else { return .malformed }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: halfChain) { low in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: halfChain) { high in
                var chain = Chain(low: low, high: high)
                // The question's name is the name the host asked for. It is checked and
                // measured here, and written out only when an owner name must be compared
                // with it (`Chain.contains`) or the response names addresses
                // (`readQuestionName`): answers nobody asked for never pay for it.
                let question = readName(reader, at: 12, into: nil)
                guard question.status == .ok else { return question.status }
                chain.lengths[0] = question.length
                chain.offsets[0] = 12
                chain.count = 1
                var position = question.next
                // Further questions (rare) are skipped.
                for index in 0..<Int(reader.be16(4)) {
                    if index > 0 {
                        let skipped = skipName(reader, at: position)
                        guard skipped.status == .ok else { return skipped.status }
                        position = skipped.next
                    }
                    guard position &+ 4 <= reader.count else { return .truncated }
                    position &+= 4  // QTYPE, QCLASS
                }
                // Only a successful answer (RCODE 0) names addresses.
                guard flags & 0x000F == 0 else { return .noAddresses }
                let status = readAnswers(reader, at: position, count: Int(reader.be16(6)), chain: &chain, into: &answers)
                let partial = status == .truncated && cut && answers.count > 0
                guard status == .ok || partial else {
                    answers.count = 0
                    return status
                }
                if partial { return .partial }
                return answers.count > 0 ? .ok : .noAddresses
            }
        }
    }

    /// The names of a CNAME chain in canonical form, each in its own slot of `space`.
    struct Chain {
        /// Slots 0-3 and 4-7.
        let low: UnsafeMutableBufferPointer<UInt8>
        let high: UnsafeMutableBufferPointer<UInt8>
        var lengths = InlineArray<8, Int>(repeating: 0)
        /// Where in the message each name was read from.
        var offsets = InlineArray<8, Int>(repeating: 0)
        var count = 0
        /// Whether slot 0 holds the question's name: it is written out on the first
        /// comparison, after `decode` has checked it.
        var questionWritten = false

        init(low: UnsafeMutableBufferPointer<UInt8>, high: UnsafeMutableBufferPointer<UInt8>) {
            self.low = low
            self.high = high
        }

        func slot(_ index: Int) -> UnsafeMutableBufferPointer<UInt8> {
            let perHalf = halfChain / nameSpace
            let space = index < perHalf ? low : high
            let start = (index % perHalf) &* nameSpace
            return UnsafeMutableBufferPointer(rebasing: space[start..<(start &+ nameSpace)])
        }

        mutating func contains(_ name: UnsafeMutableBufferPointer<UInt8>, length: Int, in reader: FrameReader) -> Bool {
            if !questionWritten {
                _ = readName(reader, at: offsets[0], into: slot(0))
                questionWritten = true
            }
            for index in 0..<count where lengths[index] == length {
                let candidate = slot(index)
                var same = true
                for offset in 0..<length where candidate[offset] != name[offset] {
                    same = false
                    break
                }
                if same { return true }
            }
            return false
        }
    }

    /// Reads `count` answer records from `position`: A and AAAA records of a name in the
    /// chain are kept; a CNAME of a name in the chain adds its target to the chain.
    static func readAnswers(_ reader: FrameReader, at start: Int, count: Int, chain: inout Chain,
                            into answers: inout DNSAnswers) -> DNSStatus {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: nameSpace) { owner in
            var position = start
            for _ in 0..<count {
                // An owner name that is only a pointer to where a name of the chain was read
                // is that name (the usual answer points at the question): it is neither read
                // nor compared again. Every name of the chain was read before this record,
                // so such a pointer points backwards, as `readName` requires.
                var ofChain = false
                if position &+ 2 <= reader.count, reader.u8(position) & 0xC0 == 0xC0 {
                    let target = Int(reader.be16(position) & 0x3FFF)
                    ofChain = (0..<chain.count).contains { chain.offsets[$0] == target }
                }
                var ownerLength = 0
                if ofChain {
                    position &+= 2
                } else {
                    let ownerName = readName(reader, at: position, into: owner)
                    guard ownerName.status == .ok else { return ownerName.status }
                    position = ownerName.next
                    ownerLength = ownerName.length
                }
                guard position &+ 10 <= reader.count else { return .truncated }
                let type = reader.be16(position)
                let recordClass = reader.be16(position &+ 2)
                let ttl = reader.be32(position &+ 4)
                let dataLength = Int(reader.be16(position &+ 8))
                let data = position &+ 10
                guard data &+ dataLength <= reader.count else { return .truncated }
                position = data &+ dataLength
                guard recordClass == 1, ofChain || chain.contains(owner, length: ownerLength, in: reader) else { continue }
                switch (type, dataLength) {
                case (1, 4):  // A
                    add(IPAddress(ipv4: reader.be32(data)), ttl: ttl, to: &answers)
                case (28, 16):  // AAAA
                    add(IPAddress(high: reader.be64(data), low: reader.be64(data &+ 8)), ttl: ttl, to: &answers)
                case (5, _) where chain.count < maxChain:  // CNAME: its target joins the chain
                    let target = readName(reader, at: data, into: chain.slot(chain.count))
                    guard target.status == .ok else { return target.status }
                    chain.lengths[chain.count] = target.length
                    chain.offsets[chain.count] = data
                    chain.count &+= 1
                default:
                    continue
                }
            }
            return .ok
        }
    }

    private static func add(_ address: IPAddress, ttl: UInt32, to answers: inout DNSAnswers) {
        guard answers.count < DNSAnswers.capacity else {
            answers.droppedAddresses &+= 1
            return
        }
        answers.addresses[answers.count] = address
        // RFC 2181: a TTL with the top bit set is read as zero.
        answers.ttls[answers.count] = ttl > UInt32(Int32.max) ? 0 : ttl
        answers.count &+= 1
    }

    /// Where a name ends in place (`next`), and its canonical dotted length.
    struct NameRead {
        var status: DNSStatus
        var next = 0
        var length = 0
    }

    /// Reads the name at `start` into `out` in canonical form: labels lowercased and
    /// joined by '.', bytes other than letters, digits, '-' and '_' written as '?'. With
    /// no `out` it checks the name and measures its canonical form without writing it.
    static func readName(_ reader: FrameReader, at start: Int, into out: UnsafeMutableBufferPointer<UInt8>?) -> NameRead {
        var position = start
        var runStart = start  // where the current run of labels began
        var next = -1  // where the name ends in place: after its first pointer, or its root label
        var length = 0
        var wireLength = 0
        while true {
            guard position < reader.count else { return NameRead(status: .truncated) }
            let label = Int(reader.u8(position))
            switch label & 0xC0 {
            case 0xC0:
                guard position &+ 2 <= reader.count else { return NameRead(status: .truncated) }
                let target = Int(reader.be16(position) & 0x3FFF)
                // Before the run that holds the pointer: each jump lands lower, so the walk ends.
                guard target < runStart else { return NameRead(status: .malformed) }
                if next < 0 { next = position &+ 2 }
                position = target
                runStart = target
            case 0x00:
                if label == 0 { return NameRead(status: .ok, next: next < 0 ? position &+ 1 : next, length: length) }
                guard position &+ 1 &+ label <= reader.count else { return NameRead(status: .truncated) }
                wireLength &+= label &+ 1
                guard wireLength < 255 else { return NameRead(status: .malformed) }
                if length > 0 {
                    out?[length] = UInt8(ascii: ".")
                    length &+= 1
                }
                if let out {
                    for offset in 1...label {
                        var byte = reader.u8(position &+ offset)
                        switch byte {
                        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte |= 0x20
                        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                             UInt8(ascii: "-"), UInt8(ascii: "_"): break
                        default: byte = UInt8(ascii: "?")
                        }
                        out[length &+ offset &- 1] = byte
                    }
                }
                length &+= label
                position &+= 1 &+ label
            default:
                // 0x40 and 0x80: extended and reserved label types.
                return NameRead(status: .malformed)
            }
        }
    }

    /// Where the name at `start` ends in place, without reading it out.
    static func skipName(_ reader: FrameReader, at start: Int) -> NameRead {
        var position = start
        var wireLength = 0
        while true {
            guard position < reader.count else { return NameRead(status: .truncated) }
            let label = Int(reader.u8(position))
            switch label & 0xC0 {
            case 0xC0:
                guard position &+ 2 <= reader.count else { return NameRead(status: .truncated) }
                return NameRead(status: .ok, next: position &+ 2)
            case 0x00:
                if label == 0 { return NameRead(status: .ok, next: position &+ 1) }
                wireLength &+= label &+ 1
                guard wireLength < 255 else { return NameRead(status: .malformed) }
                position &+= 1 &+ label
            default:
                return NameRead(status: .malformed)
            }
        }
    }
}

/// What became of the DNS responses one capture source saw (UDP and TCP from port 53): counted
/// by the capture callback in place, trivially copyable like `CaptureTally`.
@frozen
public struct DNSTally: BitwiseCopyable, Sendable, Equatable {
    /// Messages by `DNSStatus` raw value.
    public var messages: InlineArray<6, UInt64> = InlineArray(repeating: 0)
    /// Addresses of responses that held more than `DNSAnswers.capacity`.
    public var droppedAddresses: UInt64 = 0
    /// Answers lost because the ring to the aggregator was full.
    public var ringDropped: UInt64 = 0
    /// `ok` responses whose addresses were not recorded, by `DNSQueryMatch` raw value
    /// (the `matched` slot stays 0).
    public var refused: InlineArray<3, UInt64> = InlineArray(repeating: 0)
    /// Queries to port 53 remembered to match their responses against.
    public var queries: UInt64 = 0
    /// Queries not remembered because the table of outstanding queries had no room.
    public var queriesDropped: UInt64 = 0
    /// Queries not remembered because their source was one of the host's addresses in a
    /// frame another host sent: forged to fill the table with queries the host never asked.
    public var queriesSpoofed: UInt64 = 0

    public init() {}

    /// Messages that decoded with `status`.
    public subscript(status: DNSStatus) -> UInt64 { messages[Int(status.rawValue)] }

    /// `ok` responses refused for `reason`.
    public subscript(refused reason: DNSQueryMatch) -> UInt64 { refused[Int(reason.rawValue)] }

    /// Counts one message that decoded with `status`, past whose kept addresses
    /// `droppedAddresses` were dropped (its answers' count, passed alone: a caller whose
    /// answers live beside the tally would otherwise copy all 600 bytes of them).
    @inlinable
    public mutating func count(_ status: DNSStatus, droppedAddresses dropped: Int) {
        messages[Int(status.rawValue)] &+= 1
        droppedAddresses &+= UInt64(dropped)
    }

    /// The sum of two tallies.
    public static func + (lhs: DNSTally, rhs: DNSTally) -> DNSTally {
        var total = lhs
        for index in 0..<total.messages.count { total.messages[index] &+= rhs.messages[index] }
        total.droppedAddresses &+= rhs.droppedAddresses
        total.ringDropped &+= rhs.ringDropped
        for index in 0..<3 { total.refused[index] &+= rhs.refused[index] }
        total.queries &+= rhs.queries
        total.queriesDropped &+= rhs.queriesDropped
        total.queriesSpoofed &+= rhs.queriesSpoofed
        return total
    }

    public static func == (lhs: DNSTally, rhs: DNSTally) -> Bool {
        (0..<lhs.messages.count).allSatisfy { lhs.messages[$0] == rhs.messages[$0] }
            && (0..<3).allSatisfy { lhs.refused[$0] == rhs.refused[$0] }
            && lhs.droppedAddresses == rhs.droppedAddresses && lhs.ringDropped == rhs.ringDropped
            && lhs.queries == rhs.queries && lhs.queriesDropped == rhs.queriesDropped
            && lhs.queriesSpoofed == rhs.queriesSpoofed
    }
}
