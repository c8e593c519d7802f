/// The link-layer framings the decoder understands, identified by their pcap link-type
/// number (the `linktype` of a capture file or `pcap_datalink()` of a live handle).
public enum LinkType: Sendable, Hashable, CaseIterable {
    /// Ethernet II, with any number of 802.1Q / 802.1ad / 0x9100 VLAN tags (1).
    case ethernet
    /// BSD null (0) and loop (108): a 4-byte address family, accepted in either byte
    /// order because null captures store it in the capturing host's order.
    case bsdLoopback
    /// A bare IPv4 or IPv6 packet, family taken from the version nibble (12, 14, 101).
    case rawIP
    /// A bare IPv4 packet (228).
    case rawIPv4
    /// A bare IPv6 packet (229).
    case rawIPv6
    /// Linux cooked capture v1, 16-byte header (113).
    case linuxSLL
    /// Linux cooked capture v2, 20-byte header (276).
    case linuxSLL2
    /// Linux netfilter log (239), what `tcpdump -i nflog:N` writes: a 4-byte header naming
    /// the address family, then type-length-value attributes, one of which holds the packet.
    case nflog

    /// The link type for a pcap link-type number, or nil when the decoder cannot read it
    /// (counted as `unsupported_link`).
    @inlinable
    public init?(pcapLinkType value: UInt32) {
        switch value {
        case 1: self = .ethernet
        case 0, 108: self = .bsdLoopback
        case 12, 14, 101: self = .rawIP
        case 228: self = .rawIPv4
        case 229: self = .rawIPv6
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        case 239: self = .nflog
        default: return nil
        }
    }
}

/// Who put a frame on the link, as far as its link-layer header tells.
public enum LinkSender: Sendable, Equatable {
    /// Ethernet, to one station, from this 48-bit link-layer address (first byte highest).
    case station(UInt64)
    /// Ethernet, to a group (broadcast or multicast) address.
    case group
    /// A cooked capture's frame the kernel marks as leaving the host.
    case leaving
    /// A cooked capture's frame arriving at the host, not on a loopback device.
    case arriving
    /// A cooked capture's frame on a loopback device.
    case loopback
    /// The framing says nothing of it (raw IP, BSD loopback, NFLOG), or the frame is too
    /// short to hold its header.
    case unknown
}

extension LinkType {
    /// Who put `frame`, of this link type, on the link.
    public func sender(of frame: UnsafeRawBufferPointer) -> LinkSender {
        guard let base = frame.baseAddress else { return .unknown }
        let reader = FrameReader(base: base, count: frame.count)
        // Cooked headers: PACKET_OUTGOING is 4 and ARPHRD_LOOPBACK 772 (linux/if_packet.h,
        // if_arp.h); v1 has the packet type at 0 and the device type at 2, v2 the device
        // type at 8 and the packet type at 10.
        switch self {
        case .ethernet:
            guard frame.count >= 14 else { return .unknown }
            guard reader.u8(0) & 1 == 0 else { return .group }
            return .station(UInt64(reader.be16(6)) << 32 | UInt64(reader.be32(8)))
        case .linuxSLL:
            guard frame.count >= 16 else { return .unknown }
            return reader.be16(2) == 772 ? .loopback : reader.be16(0) == 4 ? .leaving : .arriving
        case .linuxSLL2:
            guard frame.count >= 20 else { return .unknown }
            return reader.be16(8) == 772 ? .loopback : reader.u8(10) == 4 ? .leaving : .arriving
        case .bsdLoopback, .rawIP, .rawIPv4, .rawIPv6, .nflog:
            return .unknown
        }
    }
}
