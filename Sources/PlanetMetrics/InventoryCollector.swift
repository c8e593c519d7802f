import Exposition

/// Inventory health: planet_inventory_networks, planet_inventory_errors_total, and what
/// the inventory's bounds cut from the inventory in use.
public struct InventoryCollector: MetricsCollector {
    /// The inventory task's state at one moment.
    public struct Reading: Sendable {
        /// Addresses and networks in the inventory in use.
        public var networks: Int
        /// Refreshes that failed or had bad entries.
        public var errors: UInt64
        /// False when the latest refresh failed, had bad entries, or is running past its deadline.
        public var lastSucceeded: Bool
        /// Entries of the inventory in use left out past the entry bound.
        public var droppedEntries: Int
        /// Hostgroups and domains of the inventory in use cut to the label bound.
        public var truncatedLabels: Int

        public init(networks: Int, errors: UInt64, lastSucceeded: Bool, droppedEntries: Int = 0, truncatedLabels: Int = 0) {
            self.networks = networks
            self.errors = errors
            self.lastSucceeded = lastSucceeded
            self.droppedEntries = droppedEntries
            self.truncatedLabels = truncatedLabels
        }
    }

    public let name = "inventory"
    let read: @Sendable () -> Reading

    public init(read: @escaping @Sendable () -> Reading) { self.read = read }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let reading = read()
        writer.family("planet_inventory_networks", help: "Addresses and networks in the inventory in use", kind: .gauge)
        writer.sample("planet_inventory_networks", [:], UInt64(reading.networks))
        writer.family("planet_inventory_errors_total", help: "Inventory refreshes that failed or had bad entries", kind: .counter)
        writer.sample("planet_inventory_errors_total", [:], reading.errors)
        writer.family("planet_inventory_dropped_entries", help: "Entries of the inventory in use left out because it held more than the agent keeps", kind: .gauge)
        writer.sample("planet_inventory_dropped_entries", [:], UInt64(reading.droppedEntries))
        writer.family("planet_inventory_truncated_labels", help: "Hostgroups and domains of the inventory in use cut to 256 bytes", kind: .gauge)
        writer.sample("planet_inventory_truncated_labels", [:], UInt64(reading.truncatedLabels))
        return reading.lastSucceeded
    }
}
