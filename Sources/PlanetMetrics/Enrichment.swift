import Inventory
import NetAddress

/// Inventory labels for one scrape: this host's own, and a lookup for peers.
public struct Enrichment: Sendable {
    public var local: InventoryHost
    public var lookup: InventoryLookup
    /// The name the host asked DNS for that answered a peer's address ("" when none):
    /// the remote_dns_name label of the dependency gauges.
    public var dnsName: @Sendable (IPAddress) -> String = { _ in "" }

    public init(local: InventoryHost, lookup: @escaping InventoryLookup) {
        self.local = local
        self.lookup = lookup
    }

    /// No inventory: every hostgroup and domain is "".
    public static let none = Enrichment(local: .unknown, lookup: { _ in nil })

    /// Labels from `inventory`: this host's from its entry for `hostAddress`, peers'
    /// through `cache` (one prefix walk per peer per inventory).
    public init(inventory: Inventory, hostAddress: IPAddress, cache: InventoryLabelCache = InventoryLabelCache()) {
        self.init(local: inventory.lookup(hostAddress) ?? .unknown) { address in
            let host = cache.host(for: address, in: inventory)
            return host == .unknown ? nil : host
        }
    }
}
