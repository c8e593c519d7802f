/// An address block in CIDR notation: `10.0.0.0/8`, `2001:db8::/32`, or a single address.
///
/// The prefix length is kept as the user wrote it (0-32 for IPv4, 0-128 for IPv6);
/// `bits` is the same prefix in the 128-bit space IPAddress uses.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public let address: IPAddress
    /// The prefix length as written: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// The prefix length in IPAddress's 128-bit space (IPv4 /n is /96+n).
    @inlinable
    public var bits: Int { address.isIPv4 ? 96 + prefixLength : prefixLength }

    /// A block from an address and a prefix length; host bits are cleared.
    /// Returns nil when the length is out of range for the family.
    public init?(address: IPAddress, prefixLength: Int) {
        let maxLength = address.isIPv4 ? 32 : 128
        guard (0...maxLength).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        self.address = address.masked(toBits: address.isIPv4 ? 96 + prefixLength : prefixLength)
    }

    /// Parses `ADDRESS/LENGTH` or a bare address (a /32 or /128).
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 1 {
            self.init(address: address, prefixLength: address.isIPv4 ? 32 : 128)
            return
        }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let length = Int(parts[1]) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// True when `candidate` lies inside this block (families never mix).
    @inlinable
    public func contains(_ candidate: IPAddress) -> Bool {
        if address.isIPv4 != candidate.isIPv4 { return false }
        return candidate.masked(toBits: bits) == address
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
