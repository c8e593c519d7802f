import NetAddress

/// Inventory labels of one address: its hostgroup and domain ("" when unknown).
public struct HostLabels: Sendable, Equatable {
    public var hostgroup: String
    public var domain: String

    public init(hostgroup: String = "", domain: String = "") {
        self.hostgroup = hostgroup
        self.domain = domain
    }

    public static let unknown = HostLabels()
}

/// How renderers ask the inventory about an address; nil when it is not known.
public typealias HostLabelLookup = @Sendable (IPAddress) -> (hostgroup: String, domain: String)?

/// Inventory labels for one scrape: this host's own, and a lookup for peers.
public struct Enrichment: Sendable {
    public var local: HostLabels
    public var lookup: HostLabelLookup

    public init(local: HostLabels, lookup: @escaping HostLabelLookup) {
        self.local = local
        self.lookup = lookup
    }

    /// No inventory: every hostgroup and domain is "".
    public static let none = Enrichment(local: .unknown, lookup: { _ in nil })
}
