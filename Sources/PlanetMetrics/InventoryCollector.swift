import Exposition

/// Inventory health: planet_inventory_networks, planet_inventory_errors_total.
public struct InventoryCollector: MetricsCollector {
    /// The inventory task's state at one moment.
    public struct Reading: Sendable {
        /// Addresses and networks in the inventory in use.
        public var networks: Int
        /// Refreshes that failed or had bad entries.
        public var errors: UInt64
        public var lastSucceeded: Bool

        public init(networks: Int, errors: UInt64, lastSucceeded: Bool) {
            self.networks = networks
            self.errors = errors
            self.lastSucceeded = lastSucceeded
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
        return reading.lastSucceeded
    }
}
