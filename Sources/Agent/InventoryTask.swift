import Diagnostics
import Inventory
import PlanetMetrics
import Logging
import NetAddress
import ServiceLifecycle
import Synchronization

/// Fetches the inventory at start and then every `refreshEvery` task intervals (the Go original
/// refreshed every 25), keeping the last good one when a fetch or parse fails.
public final class InventoryTask: Service, Sendable {
    /// The inventory in use and the health of the last attempt.
    public struct State: Sendable {
        public var inventory: Inventory = .empty
        public var lastSucceeded = false
        public var hasInventory = false
        public var errors: UInt64 = 0
        public var problems: UInt64 = 0
        /// What the bounds cut from the inventory in use.
        public var droppedEntries = 0
        public var truncatedLabels = 0
        /// When the fetch under way started (nil when none is).
        public var fetchStarted: ContinuousClock.Instant?
    }

    public let state = Latest(State())
    private let address: String
    /// `address` as logged: its password redacted.
    private let shownAddress: String
    private let format: InventoryFormat
    private let interval: Duration
    private let fetcher: HTTPFetcher
    private let logger: Logger
    private let cache = InventoryLabelCache()

    public init(address: String, format: InventoryFormat, interval: Duration, refreshEvery: Int = 25,
                fetcher: HTTPFetcher = HTTPFetcher(), logger: Logger) {
        self.address = address
        self.shownAddress = redactedURL(address)
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
        state.update { $0.fetchStarted = .now }
        defer { state.update { $0.fetchStarted = nil } }
        do {
            let body = try await fetcher.get(address)
            let result = try InventoryParser.parse(body, format: format)
            for problem in result.problems.prefix(20) {
                logger.warning("inventory \(shownAddress): \(problem)")
            }
            if result.problemCount > 20 {
                logger.warning("inventory \(shownAddress): \(result.problemCount - 20) more problems not shown")
            }
            if result.droppedEntries > 0 {
                logger.warning("inventory \(shownAddress): \(result.droppedEntries) entries past the first \(InventoryParser.defaultMaxEntries) left out")
            }
            if result.truncatedLabels > 0 {
                logger.warning("inventory \(shownAddress): \(result.truncatedLabels) hostgroups or domains longer than \(InventoryParser.maxLabelBytes) bytes cut")
            }
            let inventory = Inventory(entries: result.entries)
            state.update {
                $0.inventory = inventory
                $0.hasInventory = true
                $0.lastSucceeded = result.problemCount == 0
                $0.problems &+= UInt64(result.problemCount)
                $0.droppedEntries = result.droppedEntries
                $0.truncatedLabels = result.truncatedLabels
                if result.problemCount > 0 { $0.errors &+= 1 }
            }
            logger.info("inventory loaded", metadata: ["entries": "\(result.entries.count)", "problems": "\(result.problemCount)"])
        } catch let error as FetchError {
            failed("inventory: \(error.description); keeping the previous inventory")
        } catch {
            failed("inventory \(shownAddress): \(error)")
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

    /// Inventory health for planet_inventory_*.
    public func health() -> InventoryCollector.Reading {
        let state = state.get()
        // A fetch past its deadline is a failure now, not when it finally returns.
        return InventoryCollector.Reading(networks: state.inventory.networkCount, errors: state.errors,
                                          lastSucceeded: state.lastSucceeded && !fetcher.isOverdue(since: state.fetchStarted),
                                          droppedEntries: state.droppedEntries, truncatedLabels: state.truncatedLabels)
    }
}
