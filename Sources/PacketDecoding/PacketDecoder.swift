import NetAddress

/// Turns one captured frame into a `PacketSummary`: pure, allocation-free, and safe on
/// any input. Every read is preceded by a check against the captured length, so a
/// frame cut by the snap length or forged by an attacker can only produce a status.
public enum PacketDecoder {
    /// Decodes `bytes` (the captured part of a frame of `wireLength` bytes on the wire)
    /// into `summary`, which is reset first; its contents are meaningful only for `.ok`.
    ///
    /// Returns `.ok` when the frame is an IP packet whose addresses were captured; the
    /// ports are then filled when they were captured too (`hasPorts`). A frame cut by
    /// the snap length still reports its full IP length; a length field claiming more
    /// than the wire length is cut to it (`lengthClamped`).
    @inlinable
    public static func decode(
        _ bytes: UnsafeRawBufferPointer,
        wireLength: Int,
        linkType: LinkType,
        into summary: inout PacketSummary
    ) -> DecodeStatus {
        summary = PacketSummary()
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .truncated }
        let frame = FrameReader(base: base, count: bytes.count)
        // 0 = take the family from the version nibble; 4 or 6 = the link layer said so
        // and the nibble must agree.
        var family: UInt8 = 0
        var offset = 0
        // For the framings that carry an EtherType: where it is and where the header
        // (and so the first VLAN tag, if any) ends.
        var typeOffset = -1
        // NFLOG: the packet's length as its attribute gives it (what follows is not the packet's).
        var nflogLength = Int.max
        switch linkType {
        case .ethernet:
            guard frame.count >= 14 else { return .truncated }
            (typeOffset, offset) = (12, 14)
        case .linuxSLL:
            guard frame.count >= 16 else { return .truncated }
            (typeOffset, offset) = (14, 16)
        case .linuxSLL2:
            guard frame.count >= 20 else { return .truncated }
            (typeOffset, offset) = (0, 20)
        case .bsdLoopback:
            guard frame.count >= 4 else { return .truncated }
            let word = frame.base.loadUnaligned(as: UInt32.self)
            family = familyOfAddressFamily(UInt32(littleEndian: word)) | familyOfAddressFamily(UInt32(bigEndian: word))
            guard family != 0 else { return .notIP }
            offset = 4
        case .nflog:
            guard frame.count >= 4 else { return .truncated }
            family = familyOfAddressFamily(UInt32(frame.u8(0)))
            guard family != 0 else { return .notIP }
            let (payload, length) = nflogPayload(frame)
            guard payload >= 0 else { return payload == -2 ? .malformed : .truncated }
            offset = payload
            nflogLength = length
        case .rawIP:
            break
        case .rawIPv4:
            family = 4
        case .rawIPv6:
            family = 6
        }
        if typeOffset >= 0 {
            let etherType: UInt16
            (etherType, offset) = skipTags(frame, type: frame.be16(typeOffset), headerEnd: offset)
            guard offset >= 0 else { return .truncated }
            switch etherType {
            case 0x0800: family = 4
            case 0x86DD: family = 6
            default: return .notIP
            }
        }
        guard offset < frame.count else { return .truncated }
        let version = frame.u8(offset) >> 4
        if family == 0 {
            guard version == 4 || version == 6 else { return .malformed }
            family = version
        } else {
            guard version == family else { return .malformed }
        }
        // An NFLOG packet attribute too short for the header it holds says nothing true.
        guard nflogLength >= (family == 4 ? 20 : 40) else { return .malformed }
        // The captured length never exceeds the wire length in a sane capture; taking
        // the larger keeps the fallback length at least what was captured.
        let ipWireLength = min(max(wireLength, frame.count) &- offset, nflogLength)
        if family == 4 {
            return decodeIPv4(frame, at: offset, ipWireLength: ipWireLength, into: &summary)
        }
        return decodeIPv6(frame, at: offset, ipWireLength: ipWireLength, into: &summary)
    }

    /// 4 for AF_INET, 6 for the AF_INET6 values of Linux (10), the BSDs (24, 28) and
    /// macOS (30), else 0.
    @inlinable @inline(__always)
    static func familyOfAddressFamily(_ value: UInt32) -> UInt8 {
        switch value {
        case 2: 4
        case 10, 24, 28, 30: 6
        default: 0
        }
    }

    /// Where the packet attribute (NFULA_PAYLOAD, type 9) of an NFLOG frame starts and the
    /// packet's length as the attribute gives it; offset -1 when the frame ends before it,
    /// -2 when an attribute's length is impossible. Attributes are 4-byte aligned; their
    /// length and type are in the byte order of the host that captured, told here by the
    /// first attribute's type (types are small numbers, so a byte-swapped one is not).
    @inlinable
    static func nflogPayload(_ frame: FrameReader) -> (offset: Int, length: Int) {
        guard frame.count >= 8 else { return (-1, 0) }
        let firstType = frame.be16(6)
        // Little-endian (the common case) unless only the big-endian reading is small.
        let bigEndian = firstType.byteSwapped & 0x7FFF >= 0x100 && firstType & 0x7FFF < 0x100
        var at = 4
        // Each attribute moves at least 4 bytes on, so the loop ends with the frame.
        while at &+ 4 <= frame.count {
            let first = frame.be16(at), second = frame.be16(at &+ 2)
            let length = Int(bigEndian ? first : first.byteSwapped)
            let type = (bigEndian ? second : second.byteSwapped) & 0x7FFF
            guard length >= 4 else { return (-2, 0) }
            if type == 9 { return (at &+ 4, length &- 4) }
            at &+= (length &+ 3) & ~3
        }
        return (-1, 0)
    }

    /// Skips the VLAN tags that follow a header ending at `headerEnd` whose type field
    /// holds `type`. Returns the inner type and the offset of its payload, or offset -1
    /// when the frame ends inside a tag.
    @inlinable @inline(__always)
    static func skipTags(_ frame: FrameReader, type first: UInt16, headerEnd: Int) -> (UInt16, Int) {
        var type = first
        var end = headerEnd
        // 802.1Q, 802.1ad and the pre-standard 0x9100 QinQ tag: 2 bytes of TCI then
        // the next type. Each tag moves 4 bytes on, so the loop ends with the frame.
        while type == 0x8100 || type == 0x88A8 || type == 0x9100 {
            guard end &+ 4 <= frame.count else { return (0, -1) }
            type = frame.be16(end &+ 2)
            end &+= 4
        }
        return (type, end)
    }

    /// The IPv4 header at `ip` (its version nibble already checked), then the ports.
    @inlinable @inline(__always)
    static func decodeIPv4(
        _ frame: FrameReader, at ip: Int, ipWireLength: Int, into summary: inout PacketSummary
    ) -> DecodeStatus {
        let headerLength = Int(frame.u8(ip) & 0x0F) &<< 2
        guard headerLength >= 20 else { return .malformed }
        guard ip &+ 20 <= frame.count else { return .truncated }
        let totalLength = Int(frame.be16(ip &+ 2))
        // Where the IP packet ends inside the captured bytes (Ethernet pads short
        // frames, so the capture can run past it).
        let end: Int
        if totalLength == 0 {
            // Segmentation offload hands the stack one large packet with length 0.
            guard ipWireLength >= headerLength else { return .malformed }
            summary.ipBytes = UInt32(clamping: ipWireLength)
            end = frame.count
        } else {
            guard totalLength >= headerLength else { return .malformed }
            // A length claiming more than the wire carried is forged or corrupt: count
            // what was carried (a snap-length cut leaves the wire length intact).
            summary.lengthClamped = totalLength > ipWireLength
            summary.ipBytes = UInt32(truncatingIfNeeded: min(totalLength, ipWireLength))
            end = min(frame.count, ip &+ totalLength)
        }
        summary.ipVersion = 4
        summary.ipProtocol = frame.u8(ip &+ 9)
        summary.source = IPAddress(ipv4: frame.be32(ip &+ 12))
        summary.destination = IPAddress(ipv4: frame.be32(ip &+ 16))
        let fragmentField = frame.be16(ip &+ 6)
        let fragmentOffset = fragmentField & 0x1FFF
        if fragmentField & 0x3FFF != 0 {
            summary.isFragment = true
            summary.isFirstFragment = fragmentOffset == 0
            summary.fragmentID = UInt32(frame.be16(ip &+ 4))
            if fragmentOffset != 0 { return .ok }
        }
        readPorts(frame, at: ip &+ headerLength, end: end, packetEnd: ip &+ Int(summary.ipBytes), into: &summary)
        return .ok
    }

    /// The IPv6 header at `ip` (its version nibble already checked), the extension
    /// header chain, then the ports.
    @inlinable @inline(__always)
    static func decodeIPv6(
        _ frame: FrameReader, at ip: Int, ipWireLength: Int, into summary: inout PacketSummary
    ) -> DecodeStatus {
        guard ip &+ 40 <= frame.count else { return .truncated }
        let payloadLength = Int(frame.be16(ip &+ 4))
        // `declaredEnd` is where the header says the packet ends (extension headers
        // past it are malformed); `end` is that bounded by what was captured.
        let declaredEnd: Int
        if payloadLength == 0 {
            // Jumbogram or segmentation offload: the wire length is all there is.
            summary.ipBytes = UInt32(clamping: ipWireLength)
            declaredEnd = Int.max
        } else {
            summary.lengthClamped = payloadLength &+ 40 > ipWireLength
            summary.ipBytes = UInt32(truncatingIfNeeded: min(payloadLength &+ 40, ipWireLength))
            declaredEnd = ip &+ 40 &+ payloadLength
        }
        let end = min(frame.count, declaredEnd)
        summary.ipVersion = 6
        summary.source = IPAddress(high: frame.be64(ip &+ 8), low: frame.be64(ip &+ 16))
        summary.destination = IPAddress(high: frame.be64(ip &+ 24), low: frame.be64(ip &+ 32))
        var next = frame.u8(ip &+ 6)
        var position = ip &+ 40
        // Every extension header is at least 8 bytes long and `position` never passes
        // `end` before a read, so the walk ends within count / 8 steps. When the snap
        // length cuts the chain, the protocol is the first header not reached.
        walk: while true {
            switch next {
            case 0, 43, 60, 51:  // hop-by-hop, routing, destination options, AH
                guard position &+ 2 <= end else {
                    if position &+ 2 > declaredEnd { return .malformed }
                    break walk
                }
                let units = Int(frame.u8(position &+ 1))
                let length = next == 51 ? (units &+ 2) &<< 2 : (units &+ 1) &<< 3
                guard position &+ length <= declaredEnd else { return .malformed }
                next = frame.u8(position)
                position &+= length
            case 44:  // fragment
                guard position &+ 8 <= end else {
                    if position &+ 8 > declaredEnd { return .malformed }
                    break walk
                }
                let offsetField = frame.be16(position &+ 2)
                let fragmentOffset = offsetField >> 3
                let moreFragments = offsetField & 1 != 0
                let identification = frame.be32(position &+ 4)
                next = frame.u8(position)
                position &+= 8
                // An atomic fragment (offset 0, no more) is a whole datagram.
                if fragmentOffset != 0 || moreFragments {
                    summary.isFragment = true
                    summary.isFirstFragment = fragmentOffset == 0
                    summary.fragmentID = identification
                    if fragmentOffset != 0 { break walk }
                }
            default:
                break walk
            }
        }
        summary.ipProtocol = next
        if summary.isFragment && !summary.isFirstFragment { return .ok }
        readPorts(frame, at: position, end: end, packetEnd: ip &+ Int(summary.ipBytes), into: &summary)
        return .ok
    }

    /// Fills ports (and TCP flags) for TCP and UDP when their bytes lie before `end`, the
    /// captured end of the IP packet; `packetEnd` is where it ends on the wire.
    @inlinable @inline(__always)
    static func readPorts(_ frame: FrameReader, at transport: Int, end: Int, packetEnd: Int, into summary: inout PacketSummary) {
        let proto = summary.ipProtocol
        guard proto == 6 || proto == 17, transport &+ 4 <= end else { return }
        summary.sourcePort = frame.be16(transport)
        summary.destinationPort = frame.be16(transport &+ 2)
        summary.hasPorts = true
        // Past 65,535 (a crafted chain of extension headers in a frame that long) the
        // offset is kept at the bound, where no DNS message can be read.
        summary.transportOffset = UInt16(clamping: transport)
        summary.transportEnd = UInt16(clamping: end)
        if proto == 6, transport &+ 14 <= end {
            summary.tcpFlags = frame.u8(transport &+ 13)
            if transport &+ 20 <= end { readTCPHeader(frame, at: transport, end: end, packetEnd: packetEnd, into: &summary) }
        }
    }

    /// Sequence, acknowledgment, window, payload length, the timestamps option and a SYN's
    /// window-scale option of the TCP header at `transport`, whose fixed 20 bytes lie
    /// before `end`. Out of line: the UDP flood never comes here.
    @inlinable @inline(never)
    static func readTCPHeader(_ frame: FrameReader, at transport: Int, end: Int, packetEnd: Int, into summary: inout PacketSummary) {
        let headerLength = Int(frame.u8(transport &+ 12) >> 4) &<< 2
        // A data offset below 20 is a corrupt header: its numbers mean nothing.
        guard headerLength >= 20 else { return }
        summary.tcpSequence = frame.be32(transport &+ 4)
        summary.tcpAcknowledgment = frame.be32(transport &+ 8)
        summary.tcpWindow = frame.be16(transport &+ 14)
        summary.tcpPayload = UInt16(clamping: max(0, packetEnd &- transport &- headerLength))
        summary.tcpFields = PacketSummary.tcpHeaderRead
        let syn = frame.u8(transport &+ 13) & PacketSummary.tcpSYN != 0
        // Options: at most 40 bytes, each step moves at least one byte.
        var option = transport &+ 20
        let optionsEnd = min(end, transport &+ headerLength)
        while option < optionsEnd {
            let kind = frame.u8(option)
            if kind == 0 { return }
            if kind == 1 {
                option &+= 1
                continue
            }
            guard option &+ 2 <= optionsEnd else { return }
            let length = Int(frame.u8(option &+ 1))
            guard length >= 2, option &+ length <= optionsEnd else { return }
            if kind == 8 && length == 10 {
                summary.tcpTSval = frame.be32(option &+ 2)
                summary.tcpTSecr = frame.be32(option &+ 6)
                summary.tcpFields |= PacketSummary.tcpTimestampsRead
                // Only a SYN carries the window scale, often after the timestamps.
                if !syn { return }
            } else if kind == 3 && length == 3 && syn {
                summary.tcpWindowShift = min(14, frame.u8(option &+ 2))
                summary.tcpFields |= PacketSummary.tcpWindowScaleRead
            }
            option &+= length
        }
    }
}

/// Big-endian reads from a captured frame. The callers check bounds; the assertions
/// re-check them in debug builds, where the tests and mutation tests run.
@usableFromInline @frozen
struct FrameReader {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let count: Int

    @inlinable @inline(__always)
    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    @inlinable @inline(__always)
    func u8(_ offset: Int) -> UInt8 {
        assert(offset >= 0 && offset < count, "read past the captured frame")
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable @inline(__always)
    func be16(_ offset: Int) -> UInt16 {
        assert(offset >= 0 && offset <= count - 2, "read past the captured frame")
        return UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    func be32(_ offset: Int) -> UInt32 {
        assert(offset >= 0 && offset <= count - 4, "read past the captured frame")
        return UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    func be64(_ offset: Int) -> UInt64 {
        assert(offset >= 0 && offset <= count - 8, "read past the captured frame")
        return UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
