import NetAddress

/// What the inventory says about an address: the labels it contributes to metrics.
public struct InventoryHost: Hashable, Sendable {
    /// Ansible-style group name, e.g. `consul-server`; "" when the inventory gives none.
    public var hostgroup: String
    /// DNS-style name, e.g. `xyz.service.consul`; "" when the inventory gives none.
    public var domain: String

    /// A host with the given labels.
    public init(hostgroup: String, domain: String) {
        self.hostgroup = hostgroup
        self.domain = domain
    }

    /// The labels of an address the inventory does not know: both empty.
    public static let unknown = InventoryHost(hostgroup: "", domain: "")

    /// What 127.0.0.1 and ::1 resolve to, as in the Go original.
    public static let localhost = InventoryHost(hostgroup: "localhost", domain: "localhost")
}

/// One usable inventory entry: a single address or a CIDR block and its labels.
public struct InventoryEntry: Hashable, Sendable {
    /// The block the entry covers; a bare address is a /32 or /128.
    public var network: IPNetwork
    /// The labels for addresses inside `network`.
    public var host: InventoryHost
    /// True when the entry was written as `ADDRESS/LENGTH` rather than a bare address.
    /// A bare address beats a CIDR entry for the same single address, as in the Go original.
    public var isCIDRNotation: Bool

    /// An entry for `network` with the labels of `host`.
    public init(network: IPNetwork, host: InventoryHost, isCIDRNotation: Bool) {
        self.network = network
        self.host = host
        self.isCIDRNotation = isCIDRNotation
    }
}

/// How renderers ask about a peer: its inventory labels, or nil when no entry covers it.
public typealias InventoryLookup = @Sendable (IPAddress) -> InventoryHost?
