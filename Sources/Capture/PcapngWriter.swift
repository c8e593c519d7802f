/// Writes pcapng blocks (the IETF pcapng draft's Section Header, Interface Description,
/// Enhanced Packet and Interface Statistics blocks) into a byte array, little-endian, as
/// tshark, tcpdump and Wireshark read them.
///
/// Every block is its type, its total length, its body, its options (each padded to 4
/// bytes, ended by opt_endofopt) and its total length again. Appending to an array with
/// room reserved allocates nothing, so a capture can write packets without allocating.
public enum PcapngWriter {
    /// What the Section Header Block says of where the capture comes from.
    public struct Section: Sendable, Equatable {
        public var hostname: String
        /// The hostgroup of the host in the inventory; "" when unknown.
        public var hostgroup: String
        /// The application that wrote the file (shb_userappl), e.g. "planet-exporter 1.4.0".
        public var application: String
        /// Free text (opt_comment), e.g. the filter and the time asked for.
        public var comments: [String]

        public init(hostname: String, hostgroup: String, application: String, comments: [String] = []) {
            self.hostname = hostname
            self.hostgroup = hostgroup
            self.application = application
            self.comments = comments
        }
    }

    /// One captured interface: its name, libpcap link type, snap length and filter.
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var linkType: UInt16
        public var snapLength: UInt32
        /// The BPF filter expression (if_filter); "" for none.
        public var filter: String

        public init(name: String, linkType: UInt16, snapLength: UInt32, filter: String = "") {
            self.name = name
            self.linkType = linkType
            self.snapLength = snapLength
            self.filter = filter
        }
    }

    /// The counts an Interface Statistics Block reports, in microseconds since 1970 for times.
    public struct Statistics: Sendable, Equatable {
        public var startMicros: UInt64
        public var endMicros: UInt64
        /// Packets the interface received (isb_ifrecv).
        public var received: UInt64
        /// Packets lost before they were written: dropped by the kernel buffer or the
        /// interface (isb_ifdrop).
        public var dropped: UInt64
        /// Packets the filter accepted (isb_filteraccept).
        public var accepted: UInt64
        /// Packets written to the file (isb_usrdeliv).
        public var delivered: UInt64
        /// Why the capture ended, and anything it left out (opt_comment); "" for none.
        public var comment: String

        public init(startMicros: UInt64, endMicros: UInt64, received: UInt64, dropped: UInt64, accepted: UInt64,
                    delivered: UInt64, comment: String = "") {
            self.startMicros = startMicros
            self.endMicros = endMicros
            self.received = received
            self.dropped = dropped
            self.accepted = accepted
            self.delivered = delivered
            self.comment = comment
        }
    }

    static let sectionHeaderType: UInt32 = 0x0A0D_0D0A
    static let interfaceDescriptionType: UInt32 = 1
    static let interfaceStatisticsType: UInt32 = 5
    static let enhancedPacketType: UInt32 = 6
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D
    /// The longest option value whose padded length fits the option's 16-bit length field.
    public static let maxCommentBytes = 65_532

    /// Option codes used here (pcapng draft, section 3.5 and the block sections).
    enum Option {
        static let endOfOptions: UInt16 = 0
        static let comment: UInt16 = 1
        static let sectionHardware: UInt16 = 2
        static let sectionOS: UInt16 = 3
        static let sectionApplication: UInt16 = 4
        static let interfaceName: UInt16 = 2
        static let interfaceTimestampResolution: UInt16 = 9
        static let interfaceFilter: UInt16 = 11
        static let statisticsStart: UInt16 = 2
        static let statisticsEnd: UInt16 = 3
        static let statisticsReceived: UInt16 = 4
        static let statisticsDropped: UInt16 = 5
        static let statisticsAccepted: UInt16 = 6
        static let statisticsDelivered: UInt16 = 8
    }

    /// Appends a Section Header Block: the host and its hostgroup as comments (pcapng has no
    /// option for them), the writing application as shb_userappl.
    public static func appendSectionHeader(_ section: Section, to out: inout [UInt8]) {
        appendBlock(sectionHeaderType, to: &out) { out in
            appendUInt32(byteOrderMagic, to: &out)
            appendUInt16(1, to: &out)  // major version
            appendUInt16(0, to: &out)  // minor version
            appendUInt64(UInt64.max, to: &out)  // section length: not given (-1)
            appendOption(Option.comment, text: "host: \(section.hostname)", to: &out)
            appendOption(Option.comment, text: "hostgroup: \(section.hostgroup)", to: &out)
            for comment in section.comments { appendOption(Option.comment, text: comment, to: &out) }
            appendOption(Option.sectionApplication, text: section.application, to: &out)
            appendUInt32(0, to: &out)  // opt_endofopt
        }
    }

    /// Appends an Interface Description Block; interfaces are numbered in the order written.
    /// Time stamps are in microseconds (if_tsresol 6), as libpcap gives them by default.
    public static func appendInterfaceDescription(_ interface: Interface, to out: inout [UInt8]) {
        appendBlock(interfaceDescriptionType, to: &out) { out in
            appendUInt16(interface.linkType, to: &out)
            appendUInt16(0, to: &out)  // reserved
            appendUInt32(interface.snapLength, to: &out)
            appendOption(Option.interfaceName, text: interface.name, to: &out)
            appendOption(Option.interfaceTimestampResolution, bytes: [6], to: &out)
            if !interface.filter.isEmpty {
                // if_filter: a type byte (0: libpcap filter string), then the expression.
                appendOption(Option.interfaceFilter, bytes: [0] + Array(interface.filter.utf8), to: &out)
            }
            appendUInt32(0, to: &out)
        }
    }

    /// The bytes an Enhanced Packet Block of `captured` bytes with a comment of `commentBytes`
    /// bytes (0: none) takes, for a byte bound checked before writing.
    public static func enhancedPacketLength(captured: Int, commentBytes: Int) -> Int {
        32 + padded(captured) + (commentBytes > 0 ? 4 + padded(commentBytes) + 4 : 0)
    }

    /// Appends an Enhanced Packet Block: `packet` (what was captured of it), its length on
    /// the wire, its time in microseconds since 1970, and `comment` (UTF-8, may be empty).
    public static func appendEnhancedPacket(interfaceID: UInt32, micros: UInt64, wireLength: UInt32,
                                            packet: UnsafeRawBufferPointer, comment: UnsafeRawBufferPointer,
                                            to out: inout [UInt8]) {
        // An option's length is 16 bits; the comments written here are far shorter.
        let comment = UnsafeRawBufferPointer(rebasing: comment.prefix(maxCommentBytes))
        let total = enhancedPacketLength(captured: packet.count, commentBytes: comment.count)
        appendUInt32(enhancedPacketType, to: &out)
        appendUInt32(UInt32(total), to: &out)
        appendUInt32(interfaceID, to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: micros >> 32), to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: micros), to: &out)
        appendUInt32(UInt32(packet.count), to: &out)
        appendUInt32(wireLength, to: &out)
        out.append(contentsOf: packet)
        appendPadding(packet.count, to: &out)
        if comment.count > 0 {
            appendUInt16(Option.comment, to: &out)
            appendUInt16(UInt16(comment.count), to: &out)
            out.append(contentsOf: comment)
            appendPadding(comment.count, to: &out)
            appendUInt32(0, to: &out)
        }
        appendUInt32(UInt32(total), to: &out)
    }

    /// Appends an Interface Statistics Block for interface `interfaceID`, stamped at its end time.
    public static func appendInterfaceStatistics(interfaceID: UInt32, _ statistics: Statistics, to out: inout [UInt8]) {
        appendBlock(interfaceStatisticsType, to: &out) { out in
            appendUInt32(interfaceID, to: &out)
            appendUInt32(UInt32(truncatingIfNeeded: statistics.endMicros >> 32), to: &out)
            appendUInt32(UInt32(truncatingIfNeeded: statistics.endMicros), to: &out)
            if !statistics.comment.isEmpty { appendOption(Option.comment, text: statistics.comment, to: &out) }
            appendOption(Option.statisticsStart, timestamp: statistics.startMicros, to: &out)
            appendOption(Option.statisticsEnd, timestamp: statistics.endMicros, to: &out)
            appendOption(Option.statisticsReceived, count: statistics.received, to: &out)
            appendOption(Option.statisticsDropped, count: statistics.dropped, to: &out)
            appendOption(Option.statisticsAccepted, count: statistics.accepted, to: &out)
            appendOption(Option.statisticsDelivered, count: statistics.delivered, to: &out)
            appendUInt32(0, to: &out)
        }
    }

    /// A block of `type` whose body `body` appends; its two length fields are filled in after.
    private static func appendBlock(_ type: UInt32, to out: inout [UInt8], body: (inout [UInt8]) -> Void) {
        let start = out.count
        appendUInt32(type, to: &out)
        appendUInt32(0, to: &out)
        body(&out)
        let total = UInt32(out.count - start + 4)
        appendUInt32(total, to: &out)
        withUnsafeBytes(of: total.littleEndian) { bytes in
            for index in 0..<4 { out[start + 4 + index] = bytes[index] }
        }
    }

    private static func appendOption(_ code: UInt16, text: String, to out: inout [UInt8]) {
        // An option's length is 16 bits: longer text is cut at a character boundary.
        var utf8 = Array(text.utf8)
        if utf8.count > maxCommentBytes {
            utf8 = Array(utf8.prefix(maxCommentBytes))
            while let last = utf8.last, last & 0xC0 == 0x80 { utf8.removeLast() }
            if let last = utf8.last, last >= 0xC0 { utf8.removeLast() }
        }
        appendOption(code, bytes: utf8, to: &out)
    }

    private static func appendOption(_ code: UInt16, bytes: [UInt8], to out: inout [UInt8]) {
        appendUInt16(code, to: &out)
        appendUInt16(UInt16(bytes.count), to: &out)
        out.append(contentsOf: bytes)
        appendPadding(bytes.count, to: &out)
    }

    /// A time stamp option: high 32 bits, then low 32 bits, in the interface's resolution.
    private static func appendOption(_ code: UInt16, timestamp: UInt64, to out: inout [UInt8]) {
        appendUInt16(code, to: &out)
        appendUInt16(8, to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: timestamp >> 32), to: &out)
        appendUInt32(UInt32(truncatingIfNeeded: timestamp), to: &out)
    }

    private static func appendOption(_ code: UInt16, count: UInt64, to out: inout [UInt8]) {
        appendUInt16(code, to: &out)
        appendUInt16(8, to: &out)
        appendUInt64(count, to: &out)
    }

    static func padded(_ count: Int) -> Int { (count + 3) & ~3 }

    private static func appendPadding(_ count: Int, to out: inout [UInt8]) {
        for _ in count..<padded(count) { out.append(0) }
    }

    private static func appendUInt16(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    private static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    private static func appendUInt64(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
