/// The local addresses and networks of a `LocalAddresses`, copied into memory its owner
/// frees (`deallocate`), with each network's mask worked out once: a lookup on the packet
/// path touches no reference count, where `LocalAddresses`' arrays would take one each.
///
/// Most lookups are of peers, which are not local: a filter of one bit per leading byte
/// (an IPv4 address's first octet, an IPv6 address's first byte), set for every byte a
/// local address or network can start with, answers those from one bit without walking
/// the lists.
public struct LocalAddressMatch {
    @usableFromInline var addresses = UnsafeMutableBufferPointer<IPAddress>(start: nil, count: 0)
    @usableFromInline var networks = UnsafeMutableBufferPointer<(mask: IPAddress, network: IPAddress, ipv4: Bool)>(start: nil, count: 0)
    /// 512 bits: 256 for IPv4's first octets, then 256 for IPv6's first bytes.
    @usableFromInline var leadingBytes = UnsafeMutableBufferPointer<UInt64>(start: nil, count: 0)
    /// The link-layer addresses of the host's interfaces (`LocalAddresses.hardwareAddresses`).
    var hardwareAddresses = UnsafeMutableBufferPointer<UInt64>(start: nil, count: 0)

    public init(_ local: LocalAddresses) { update(local) }

    /// Replaces the addresses and networks with `local`'s, freeing the old copy.
    public mutating func update(_ local: LocalAddresses) {
        deallocate()
        addresses = .allocate(capacity: local.addresses.count)
        _ = addresses.initialize(from: local.addresses)
        hardwareAddresses = .allocate(capacity: local.hardwareAddresses.count)
        _ = hardwareAddresses.initialize(from: local.hardwareAddresses)
        networks = .allocate(capacity: local.networks.count)
        _ = networks.initialize(from: local.networks.map { network -> (mask: IPAddress, network: IPAddress, ipv4: Bool) in
            let all = IPAddress(high: ~0, low: ~0)
            return (all.masked(toBits: network.bits), network.address, network.address.isIPv4)
        })
        leadingBytes = .allocate(capacity: 8)
        leadingBytes.initialize(repeating: 0)
        for address in local.addresses { mark(Self.filterBit(address), count: 1) }
        for network in local.networks {
            // A prefix shorter than a byte leaves the byte's low bits free: every byte the
            // block can start with.
            let shortBy = max(0, 8 - network.prefixLength)
            mark(Self.filterBit(network.address), count: 1 << shortBy)
        }
    }

    /// Sets `count` filter bits from `bit` on.
    private func mark(_ bit: Int, count: Int) {
        for bit in bit..<bit + count {
            let (word, mask) = Self.filterPosition(bit)
            leadingBytes[word] |= mask
        }
    }

    /// Where filter bit `bit` lies: its word of `leadingBytes`, and its mask in that word.
    @inlinable @inline(__always)
    static func filterPosition(_ bit: Int) -> (word: Int, mask: UInt64) {
        (bit >> 6, 1 << UInt64(bit & 63))
    }

    /// The filter bit of `address`'s leading byte.
    @inlinable @inline(__always)
    static func filterBit(_ address: IPAddress) -> Int {
        address.isIPv4 ? Int(truncatingIfNeeded: address.low >> 24) & 0xFF : 256 | Int(truncatingIfNeeded: address.high >> 56)
    }

    /// Frees the copy; the match must not be used again until `update`.
    public func deallocate() {
        addresses.deallocate()
        hardwareAddresses.deallocate()
        networks.deallocate()
        leadingBytes.deallocate()
    }

    /// Whether `address` is one of the host's own addresses (not merely in a local network).
    public func isHostAddress(_ address: IPAddress) -> Bool {
        addresses.contains(address)
    }

    /// Whether the host's link-layer addresses are known: a live capture, not a file.
    public var knowsHardwareAddresses: Bool { !hardwareAddresses.isEmpty }

    /// Whether the host's link-layer addresses are known and none of them is
    /// `hardwareAddress` (48 bits, first byte highest): a frame from it was sent by
    /// another host.
    public func isForeign(hardwareAddress: UInt64) -> Bool {
        knowsHardwareAddresses && !hardwareAddresses.contains(hardwareAddress)
    }

    /// The same answer as `LocalAddresses.contains`.
    @inlinable @inline(__always)
    public func contains(_ address: IPAddress) -> Bool {
        let (word, flag) = Self.filterPosition(Self.filterBit(address))
        guard leadingBytes[word] & flag != 0 else { return false }
        for candidate in addresses where candidate == address { return true }
        let isIPv4 = address.isIPv4
        for (mask, network, ipv4) in networks
        where ipv4 == isIPv4 && address.high & mask.high == network.high && address.low & mask.low == network.low {
            return true
        }
        return false
    }
}
