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
