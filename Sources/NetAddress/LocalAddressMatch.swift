/// The local addresses and networks of a `LocalAddresses`, copied into memory its owner
/// frees (`deallocate`), with each network's mask worked out once: a lookup on the packet
/// path touches no reference count, where `LocalAddresses`' arrays would take one each.
public struct LocalAddressMatch {
    @usableFromInline var addresses = UnsafeMutableBufferPointer<IPAddress>(start: nil, count: 0)
    @usableFromInline var networks = UnsafeMutableBufferPointer<(mask: IPAddress, network: IPAddress, ipv4: Bool)>(start: nil, count: 0)

    public init(_ local: LocalAddresses) { update(local) }

    /// Replaces the addresses and networks with `local`'s, freeing the old copy.
    public mutating func update(_ local: LocalAddresses) {
        deallocate()
        addresses = .allocate(capacity: local.addresses.count)
        _ = addresses.initialize(from: local.addresses)
        networks = .allocate(capacity: local.networks.count)
        _ = networks.initialize(from: local.networks.map { network -> (mask: IPAddress, network: IPAddress, ipv4: Bool) in
            let all = IPAddress(high: ~0, low: ~0)
            return (all.masked(toBits: network.bits), network.address, network.address.isIPv4)
        })
    }

    /// Frees the copy; the match must not be used again until `update`.
    public func deallocate() {
        addresses.deallocate()
        networks.deallocate()
    }

    /// The same answer as `LocalAddresses.contains`.
    @inlinable @inline(__always)
    public func contains(_ address: IPAddress) -> Bool {
        for candidate in addresses where candidate == address { return true }
        let isIPv4 = address.isIPv4
        for (mask, network, ipv4) in networks
        where ipv4 == isIPv4 && address.high & mask.high == network.high && address.low & mask.low == network.low {
            return true
        }
        return false
    }
}
