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
public typealias HostLabelLookup = (IPAddress) -> (hostgroup: String, domain: String)?
