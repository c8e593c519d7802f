import NetAddress

/// What the traffic accounting needs from one captured packet, in a fixed-size, trivially
/// copyable value that can travel through a ring without allocation (88-byte stride: the
/// 64 bytes every packet needs, then the TCP header fields the connection analysis reads
/// and which addresses are local).
///
/// Fields that a packet does not carry are zero: `sourcePort`/`destinationPort` when
/// `hasPorts` is false, `tcpFlags` unless the TCP header was captured, the fragment
/// fields unless the packet is a fragment.
@frozen
public struct PacketSummary: BitwiseCopyable, Sendable, Equatable {
    /// Source address (IPv4 held v4-mapped).
    public var source: IPAddress
    /// Destination address (IPv4 held v4-mapped).
    public var destination: IPAddress
    /// IP bytes: IPv4 total length or IPv6 payload length + 40; when that field is 0
    /// (segmentation offload, jumbogram) the wire length minus the link header, and
    /// never more than that wire length (see `lengthClamped`).
    public var ipBytes: UInt32
    /// IPv4 identification (16 bits) or IPv6 fragment header identification (32 bits);
    /// zero unless `isFragment`.
    public var fragmentID: UInt32
    /// TCP or UDP source port; zero unless `hasPorts`.
    public var sourcePort: UInt16
    /// TCP or UDP destination port; zero unless `hasPorts`.
    public var destinationPort: UInt16
    /// The transport protocol: IPv4 protocol, or the IPv6 next header after walking the
    /// extension headers (50 for ESP, 59 for No Next Header).
    public var ipProtocol: UInt8
    /// TCP flags byte (`tcpFIN`, `tcpSYN`, `tcpRST`, PSH 0x08, `tcpACK`, ...); zero for
    /// other protocols or when the byte was not captured.
    public var tcpFlags: UInt8
    /// 4 or 6.
    public var ipVersion: UInt8
    /// True for any fragment of a fragmented datagram (more-fragments set or offset > 0).
    public var isFragment: Bool
    /// True for the fragment at offset 0, the only one that carries the ports.
    public var isFirstFragment: Bool
    /// True when the TCP/UDP ports were captured and read.
    public var hasPorts: Bool
    /// True when the IP length field claimed more than the frame carried on the wire and
    /// `ipBytes` was cut to what it carried.
    public var lengthClamped: Bool
    /// Which TCP header fields were captured: `tcpHeaderRead` when sequence, acknowledgment,
    /// window and payload length are filled, `tcpTimestampsRead` when the segment carries the
    /// timestamps option too. Zero for other protocols.
    public var tcpFields: UInt8
    /// Where the TCP or UDP header starts in the captured frame, and where the IP packet
    /// ends inside what was captured (Ethernet may pad a short frame past it); both zero
    /// unless `hasPorts`, both at most 65,535. The DNS decoder starts from them, so link
    /// and IP headers are walked once per packet.
    public var transportOffset: UInt16
    public var transportEnd: UInt16
    /// Capture time in microseconds since 1970 (the pcap record header's time stamp),
    /// set by the capture source, not by the decoder: handshake times are measured
    /// between packets' own times, so a replay gives the same figures as the live run.
    public var timestamp: UInt64
    /// TCP sequence and acknowledgment numbers; zero unless `tcpFields` has `tcpHeaderRead`.
    public var tcpSequence: UInt32
    public var tcpAcknowledgment: UInt32
    /// The timestamps option's TSval and TSecr; zero unless `tcpFields` has `tcpTimestampsRead`.
    public var tcpTSval: UInt32
    public var tcpTSecr: UInt32
    /// The TCP window field as sent (not scaled).
    public var tcpWindow: UInt16
    /// TCP payload bytes, from the IP length (so a segment cut by the snap length still
    /// reports what it carried).
    public var tcpPayload: UInt16
    /// The window-scale option's shift count of a SYN (capped at 14, as RFC 7323 does);
    /// zero unless `tcpFields` has `tcpWindowScaleRead`. It fills what was padding: the
    /// summary stays 88 bytes.
    public var tcpWindowShift: UInt8
    /// Which addresses are the host's own or in a local network (`sourceLocal`,
    /// `destinationLocal`), as the capture source found them when it decoded the packet;
    /// zero, without `localityKnown`, when it did not (the host's addresses not known yet,
    /// a summary made elsewhere), and the accounting then looks the addresses up itself.
    /// Decided once per packet: the DNS check and the counting rules both ask. It fills
    /// what was padding too: the summary stays 88 bytes.
    public var locality: UInt8

    /// `tcpFlags` bits.
    public static let tcpFIN: UInt8 = 0x01
    public static let tcpSYN: UInt8 = 0x02
    public static let tcpRST: UInt8 = 0x04
    public static let tcpACK: UInt8 = 0x10

    /// `locality` bits.
    public static let localityKnown: UInt8 = 1
    public static let sourceLocal: UInt8 = 2
    public static let destinationLocal: UInt8 = 4

    /// `tcpFields` bit: the fixed 20-byte TCP header was captured.
    public static let tcpHeaderRead: UInt8 = 1
    /// `tcpFields` bit: the timestamps option was captured.
    public static let tcpTimestampsRead: UInt8 = 2
    /// `tcpFields` bit: a SYN's window-scale option was captured.
    public static let tcpWindowScaleRead: UInt8 = 4

    /// What locating the DNS message in the frame needs of this summary.
    @inlinable
    public var transportSpan: TransportSpan {
        TransportSpan(ipProtocol: ipProtocol, hasPorts: hasPorts, offset: transportOffset, end: transportEnd)
    }

    /// An all-zero summary, ready to be filled by `PacketDecoder.decode`.
    @inlinable
    public init() {
        // Not `IPAddress.zero`: a global from another module costs a call and a
        // once-check on every packet.
        source = IPAddress(high: 0, low: 0)
        destination = IPAddress(high: 0, low: 0)
        ipBytes = 0
        fragmentID = 0
        sourcePort = 0
        destinationPort = 0
        ipProtocol = 0
        tcpFlags = 0
        ipVersion = 0
        isFragment = false
        isFirstFragment = false
        hasPorts = false
        lengthClamped = false
        tcpFields = 0
        transportOffset = 0
        transportEnd = 0
        locality = 0
        timestamp = 0
        tcpSequence = 0
        tcpAcknowledgment = 0
        tcpTSval = 0
        tcpTSecr = 0
        tcpWindow = 0
        tcpPayload = 0
        tcpWindowShift = 0
    }
}

/// The outcome of decoding one frame. Anything but `ok` means the frame is not traffic
/// and is counted in `planet_capture_undecoded_packets_total{reason}`.
public enum DecodeStatus: UInt8, Sendable, CaseIterable {
    /// An IP packet: the summary is filled.
    case ok
    /// A frame that carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    case notIP
    /// The frame ends before the IP addresses.
    case truncated
    /// A header contradicts itself (bad version nibble, IHL < 5, lengths too short).
    case malformed
    /// The capture's link type is not one `LinkType` knows; reported by the capture
    /// source, never by the decoder itself.
    case unsupportedLink

    /// The `reason` label value of the undecoded-packets metric; empty for `ok`.
    public var reason: String {
        switch self {
        case .ok: ""
        case .notIP: "not_ip"
        case .truncated: "truncated"
        case .malformed: "malformed"
        case .unsupportedLink: "unsupported_link"
        }
    }
}

/// A decoded packet's protocol, and where its TCP or UDP header starts and its IP packet
/// ends in the captured frame (`PacketSummary`'s `transportOffset` and `transportEnd`).
/// The DNS decoder needs no more of a summary, and a caller holding the summary the
/// decoder has just written reads these few fields instead of copying all of it.
public struct TransportSpan: Sendable, Equatable {
    public var ipProtocol: UInt8
    public var hasPorts: Bool
    public var offset: UInt16
    public var end: UInt16

    @inlinable
    public init(ipProtocol: UInt8, hasPorts: Bool, offset: UInt16, end: UInt16) {
        self.ipProtocol = ipProtocol
        self.hasPorts = hasPorts
        self.offset = offset
        self.end = end
    }
}
