import NetAddress

/// An immutable snapshot of the inventory: maps an address to its hostgroup and domain.
///
/// A bare address entry beats any CIDR entry; among CIDR entries the longest prefix
/// wins; for the same network written twice the later entry wins. 127.0.0.1 and ::1
/// always resolve to hostgroup and domain `localhost`, as the Go original does (it adds
/// 127.0.0.1 after the fetched entries, overriding them). `Inventory.empty`, the state
/// before the first good fetch or with the inventory task off, knows no address at all.
public struct Inventory: Sendable {
    /// Shared by copies of one snapshot; its identity tells caches when the snapshot changed.
    final class Storage: Sendable {
        let table: PrefixTable<InventoryHost>

        init(table: PrefixTable<InventoryHost>) {
            self.table = table
        }
    }

    let storage: Storage

    /// The snapshot that knows no address (not even localhost).
    public static let empty = Inventory(storage: Storage(table: PrefixTable()))

    private init(storage: Storage) {
        self.storage = storage
    }

    /// A snapshot of `entries`, plus localhost for 127.0.0.1 and ::1.
    public init(entries: some Sequence<InventoryEntry>) {
        var table = PrefixTable<InventoryHost>()
        var bareAddresses: [InventoryEntry] = []
        for entry in entries {
            if entry.isCIDRNotation {
                table.insert(entry.network, entry.host)
            } else {
                bareAddresses.append(entry)
            }
        }
        // Inserted after every CIDR entry so a bare address replaces an equal /32 or /128.
        for entry in bareAddresses {
            table.insert(entry.network, entry.host)
        }
        table.insert(IPNetwork(address: IPAddress(ipv4: 0x7F00_0001), prefixLength: 32)!, .localhost)
        table.insert(IPNetwork(address: IPAddress(high: 0, low: 1), prefixLength: 128)!, .localhost)
        table.optimizeLayout()
        storage = Storage(table: table)
    }

    /// The labels for `address`, or nil when no entry covers it.
    public func lookup(_ address: IPAddress) -> InventoryHost? {
        storage.table.lookup(address)
    }

    /// The number of distinct networks in the snapshot (localhost included).
    public var networkCount: Int { storage.table.count }

    /// True when both values are copies of the same snapshot.
    public func isSameSnapshot(as other: Inventory) -> Bool {
        storage === other.storage
    }
}
