import NetAddress
import Synchronization

/// Remembers each peer's inventory labels across a scrape, so rendering 50,000 series
/// costs one prefix walk per distinct peer, not per series.
///
/// Entries belong to one inventory snapshot: a call with a different snapshot empties
/// the cache first, so a refreshed inventory shows at the next scrape. Unknown peers are
/// remembered too. Past `capacity` peers the cache is emptied and refilled, which bounds
/// its memory. Safe to share between concurrent scrapes.
public final class InventoryLabelCache: Sendable {
    private struct State {
        var snapshot: Inventory
        var hosts: [IPAddress: InventoryHost] = [:]
    }

    private let state: Mutex<State>
    /// The most peers remembered before the cache starts over.
    public let capacity: Int

    /// An empty cache that remembers up to `capacity` peers.
    public init(capacity: Int = 262_144) {
        self.capacity = max(1, capacity)
        self.state = Mutex(State(snapshot: .empty))
    }

    /// The labels of `address` in `inventory`; `InventoryHost.unknown` when no entry covers it.
    public func host(for address: IPAddress, in inventory: Inventory) -> InventoryHost {
        state.withLock { state in
            if !state.snapshot.isSameSnapshot(as: inventory) {
                state.snapshot = inventory
                state.hosts.removeAll(keepingCapacity: true)
            }
            if let host = state.hosts[address] { return host }
            let host = inventory.lookup(address) ?? .unknown
            if state.hosts.count >= capacity {
                state.hosts.removeAll(keepingCapacity: true)
            }
            state.hosts[address] = host
            return host
        }
    }

    /// The number of peers remembered now.
    public var count: Int { state.withLock { $0.hosts.count } }
}
