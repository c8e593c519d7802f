import Inventory
import NetAddress

/// Inventory labels for one scrape: this host's own, and a lookup for peers.
public struct Enrichment: Sendable {
    public var local: InventoryHost
    public var lookup: InventoryLookup

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
