#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as one trivially copyable 16-byte value.
///
/// IPv4 is held as an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), so one type, one
/// hash and one prefix table serve both families. `high` holds the first eight bytes
/// of the address in network order read as a big-endian integer, `low` the last eight.
@frozen
public struct IPAddress: Hashable, Comparable, Sendable, BitwiseCopyable {
    public var high: UInt64
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// An IPv4 address from its 32-bit value (`0x0A000001` is 10.0.0.1).
    @inlinable
    public init(ipv4 value: UInt32) {
        self.high = 0
        self.low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    /// The unspecified address `::`; also what an unset slot holds.
    public static let zero = IPAddress(high: 0, low: 0)

    /// True for IPv4 addresses (held IPv4-mapped).
    @inlinable
    public var isIPv4: Bool { high == 0 && (low >> 32) == 0xFFFF }

    /// The 32-bit value of an IPv4 address; meaningless for IPv6.
    @inlinable
    public var ipv4Value: UInt32 { UInt32(truncatingIfNeeded: low) }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isIPv4 ? (ipv4Value >> 24) == 127 : (high == 0 && low == 1)
    }

    /// 0.0.0.0 or ::.
    public var isUnspecified: Bool {
        isIPv4 ? ipv4Value == 0 : (high == 0 && low == 0)
    }

    /// 169.254.0.0/16 or fe80::/10.
    public var isLinkLocal: Bool {
        isIPv4 ? (ipv4Value >> 16) == 0xA9FE : (high >> 54) == (0xFE80 >> 6)
    }

    /// Multicast or broadcast: 224.0.0.0/4, 255.255.255.255, ff00::/8.
    public var isMulticastOrBroadcast: Bool {
        isIPv4 ? ((ipv4Value >> 28) == 0xE || ipv4Value == 0xFFFF_FFFF) : (high >> 56) == 0xFF
    }

    /// The address with everything after the first `bits` bits (of 128) cleared.
    @inlinable
    public func masked(toBits bits: Int) -> IPAddress {
        if bits <= 0 { return .zero }
        if bits >= 128 { return self }
        if bits <= 64 {
            let mask: UInt64 = bits == 64 ? ~0 : ~(~0 >> UInt64(bits))
            return IPAddress(high: high & mask, low: 0)
        }
        let mask: UInt64 = ~(~0 >> UInt64(bits - 64))
        return IPAddress(high: high, low: low & mask)
    }

    /// The address's 16 bytes in network order.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))
        }
        return out
    }

    /// An address from 16 bytes in network order, or 4 for IPv4.
    public init?(bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        switch array.count {
        case 4:
            self.init(ipv4: UInt32(array[0]) << 24 | UInt32(array[1]) << 16 | UInt32(array[2]) << 8 | UInt32(array[3]))
        case 16:
            var h: UInt64 = 0
            var l: UInt64 = 0
            for i in 0..<8 {
                h = h << 8 | UInt64(array[i])
                l = l << 8 | UInt64(array[8 + i])
            }
            self.init(high: h, low: l)
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or any textual IPv6 form (including `::ffff:1.2.3.4`).
    /// A zone suffix (`fe80::1%eth0`) is accepted and dropped.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        if text.contains(":") {
            var raw = in6_addr()
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            let parsed = withUnsafeBytes(of: &raw) { IPAddress(bytes: $0) }
            guard let parsed else { return nil }
            self = parsed
        } else {
            var raw = in_addr()
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            self.init(ipv4: UInt32(bigEndian: raw.s_addr))
        }
    }

    @inlinable
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }
}

extension IPAddress: CustomStringConvertible {
    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6.
    public var description: String {
        if isIPv4 {
            let v = ipv4Value
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { buffer in
            for (i, byte) in bytes.enumerated() { buffer[i] = byte }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "::" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension IPAddress {
    /// The first answer of `lookup` among the addresses a socket can be bound to and
    /// still receive what is sent to this address, most specific first: the address
    /// itself, the IPv4 wildcard (for an IPv4 address), then the IPv6 wildcard (which
    /// takes IPv4 too unless the socket is IPV6_V6ONLY).
    @inlinable
    public func firstBound<T>(_ lookup: (IPAddress) -> T?) -> T? {
        if let found = lookup(self) { return found }
        if isIPv4, let found = lookup(IPAddress(ipv4: 0)) { return found }
        return lookup(.zero)
    }
}
