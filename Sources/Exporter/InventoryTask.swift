import Exposition
import Inventory
import Logging
import NetAddress
import ServiceLifecycle
import Synchronization

/// Fetches the inventory at start and then every `refreshEvery` task intervals (the seed
/// refreshed every 25), keeping the last good one when a fetch or parse fails.
public final class InventoryTask: Service, Sendable {
    /// The inventory in use and the health of the last attempt.
    public struct State: Sendable {
        public var inventory: Inventory = .empty
        public var lastSucceeded = false
        public var hasInventory = false
        public var errors: UInt64 = 0
        public var problems: UInt64 = 0
    }

    public let state = Latest(State())
    private let address: String
    private let format: InventoryFormat
    private let interval: Duration
    private let fetcher: HTTPFetcher
    private let logger: Logger
    private let cache = InventoryLabelCache()

    public init(address: String, format: InventoryFormat, interval: Duration, refreshEvery: Int = 25,
                fetcher: HTTPFetcher = HTTPFetcher(), logger: Logger) {
        self.address = address
        self.format = format
        self.interval = interval * refreshEvery
        self.fetcher = fetcher
        self.logger = logger
    }

    public func run() async throws {
        try await runPeriodically(every: interval) { await self.refresh() }
    }

    /// One fetch and parse; on failure the previous inventory stays in use.
    public func refresh() async {
        do {
            let body = try await fetcher.get(address)
            let result = try InventoryParser.parse(body, format: format)
            for problem in result.problems.prefix(20) {
                logger.warning("inventory \(address): \(problem)")
            }
            if result.problems.count > 20 {
                logger.warning("inventory \(address): \(result.problems.count - 20) more problems not shown")
            }
            let inventory = Inventory(entries: result.entries)
            state.update {
                $0.inventory = inventory
                $0.hasInventory = true
                $0.lastSucceeded = result.problems.isEmpty
                $0.problems &+= UInt64(result.problems.count)
                if !result.problems.isEmpty { $0.errors &+= 1 }
            }
            logger.info("inventory loaded", metadata: ["entries": "\(result.entries.count)", "problems": "\(result.problems.count)"])
        } catch let error as FetchError {
            failed("inventory: \(error.description); keeping the previous inventory")
        } catch {
            failed("inventory \(address): \(error)")
        }
    }

    private func failed(_ message: String) {
        logger.error("\(message)")
        state.update {
            $0.lastSucceeded = false
            $0.errors &+= 1
        }
    }

    /// Labels for rendering from the inventory in use; lookups are cached per peer until
    /// the inventory changes.
    public func enrichment(hostAddress: IPAddress) -> Enrichment {
        Enrichment(inventory: state.get().inventory, hostAddress: hostAddress, cache: cache)
    }
}

/// Inventory health: planet_inventory_entries, planet_inventory_errors_total.
public struct InventoryCollector: MetricsCollector {
    public let name = "inventory"
    let task: InventoryTask

    public init(task: InventoryTask) { self.task = task }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let state = task.state.get()
        writer.family("planet_inventory_networks", help: "Addresses and networks in the inventory in use", kind: .gauge)
        writer.sample("planet_inventory_networks", [:], UInt64(state.inventory.networkCount))
        writer.family("planet_inventory_errors_total", help: "Inventory refreshes that failed or had bad entries", kind: .counter)
        writer.sample("planet_inventory_errors_total", [:], state.errors)
        return state.lastSucceeded
    }
}

/// planet_hostname: this host's name, primary address and inventory labels.
public struct HostnameCollector: MetricsCollector {
    public let name = "hostname"
    let hostAddress: @Sendable () -> IPAddress
    let enrichment: @Sendable () -> Enrichment

    public init(hostAddress: @escaping @Sendable () -> IPAddress, enrichment: @escaping @Sendable () -> Enrichment) {
        self.hostAddress = hostAddress
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let local = enrichment().local
        writer.family("planet_hostname", help: "Hostname of this machine", kind: .gauge)
        writer.sample("planet_hostname", ["domain": local.domain, "hostname": HostIdentity.hostname(),
                                          "ip": hostAddress().description, "local_hostgroup": local.hostgroup], UInt64(1))
        return true
    }
}

extension Enrichment {
    /// Labels from `inventory`: this host's from its entry for `hostAddress`, peers'
    /// through `cache` (one prefix walk per peer per inventory).
    public init(inventory: Inventory, hostAddress: IPAddress, cache: InventoryLabelCache = InventoryLabelCache()) {
        let local = inventory.lookup(hostAddress) ?? .unknown
        self.init(local: HostLabels(hostgroup: local.hostgroup, domain: local.domain)) { address in
            let host = cache.host(for: address, in: inventory)
            return host == .unknown ? nil : (host.hostgroup, host.domain)
        }
    }
}
