/// The addresses that count as "this host": interface addresses plus configured local
/// networks. Immutable; the live agent publishes a new one when interfaces change.
public struct LocalAddresses: Sendable {
    /// Exact host addresses (interface addresses).
    public let addresses: [IPAddress]
    /// Local networks (-capture-local-net / --local-net).
    public let networks: [IPNetwork]
    /// The link-layer addresses of the host's interfaces (48 bits each, as
    /// `HostInterface.hardwareAddress`); empty when unknown (a capture file).
    public let hardwareAddresses: [UInt64]
    @usableFromInline let masks: [(bits: Int, address: IPAddress, ipv4: Bool)]

    public init(addresses: [IPAddress] = [], networks: [IPNetwork] = [], hardwareAddresses: [UInt64] = []) {
        self.addresses = Array(Set(addresses)).sorted()
        self.networks = networks
        self.hardwareAddresses = Array(Set(hardwareAddresses)).sorted()
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
