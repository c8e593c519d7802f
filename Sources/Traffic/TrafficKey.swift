import NetAddress

/// What a traffic series is counted under: peer, direction, protocol, service port and
/// local process. Trivially copyable and 24 bytes, so the table stores keys inline.
@frozen
public struct TrafficKey: Hashable, Sendable, BitwiseCopyable {
    /// The non-local end of the conversation.
    public var peer: IPAddress
    /// Interned local process name (0 = unknown); see `ProcessNames`.
    public var process: UInt32
    /// The service port; meaningful only when `hasPort`.
    public var port: UInt16
    /// IP protocol number after IPv6 extension headers.
    public var ipProtocol: UInt8
    @usableFromInline var bits: UInt8

    @inlinable
    public init(peer: IPAddress, direction: Direction, ipProtocol: UInt8, port: UInt16?, process: UInt32 = 0) {
        self.peer = peer
        self.process = process
        self.port = port ?? 0
        self.ipProtocol = ipProtocol
        self.bits = direction.rawValue | (port == nil ? 0 : 2)
    }

    @inlinable
    public var direction: Direction { (bits & 1) == 1 ? .egress : .ingress }

    /// The service port, or nil when the packets carry none (ICMP, later fragments).
    @inlinable
    public var servicePort: UInt16? { (bits & 2) != 0 ? port : nil }

    /// The `protocol` label value: tcp, udp, icmp, icmpv6, or the protocol number.
    public var protocolLabel: String { Self.protocolLabel(ipProtocol) }

    /// The `protocol` label for an IP protocol number.
    public static func protocolLabel(_ number: UInt8) -> String {
        switch number {
        case 6: "tcp"
        case 17: "udp"
        case 1: "icmp"
        case 58: "icmpv6"
        default: String(number)
        }
    }

    /// The `port` label value ("" when there is none).
    public var portLabel: String { servicePort.map { String($0) } ?? "" }

    /// A 64-bit hash of the key, mixed with a per-process seed so crafted peers cannot
    /// aim at one bucket.
    @inlinable
    func hashValue(seed: UInt64) -> UInt64 {
        let tail = UInt64(process) << 32 | UInt64(port) << 16 | UInt64(ipProtocol) << 8 | UInt64(bits)
        return SeededHash.mix(seed: seed, peer.high, peer.low, tail)
    }
}
