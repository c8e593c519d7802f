/// The addresses that count as "this host": interface addresses plus configured local
/// networks. Immutable; the live agent publishes a new one when interfaces change.
public struct LocalAddresses: Sendable {
    /// Exact host addresses (interface addresses).
    public let addresses: [IPAddress]
    /// Local networks (-capture-local-net / --local-net).
    public let networks: [IPNetwork]
    @usableFromInline let masks: [(bits: Int, address: IPAddress, ipv4: Bool)]

    public init(addresses: [IPAddress] = [], networks: [IPNetwork] = []) {
        self.addresses = Array(Set(addresses)).sorted()
        self.networks = networks
        self.masks = networks.map { ($0.bits, $0.address, $0.address.isIPv4) }
    }

    /// True when `address` is one of this host's addresses or inside a local network.
    @inlinable
    public func contains(_ address: IPAddress) -> Bool {
        for candidate in addresses where candidate == address { return true }
        let isIPv4 = address.isIPv4
        for (bits, network, ipv4) in masks where ipv4 == isIPv4 && address.masked(toBits: bits) == network {
            return true
        }
        return false
    }
}
