import Synchronization

/// Something a response holds in memory while its clients read it (a rendering of
/// /metrics), which can be given up to free that memory.
public protocol HeldResponse: AnyObject, Sendable {
    /// Frees what it holds; the clients still reading it are cut (their connections close
    /// without the end of the response, so no client takes a part for the whole). Returns
    /// how many clients were cut.
    func release() -> Int
}

/// The bytes held by responses in flight, across connections, with a bound: when a
/// holder grows past `limit`, the oldest other holders are released until the total is
/// back under it. Time limits alone do not bound memory: clients that each start a
/// scrape and then read a little every few seconds hold one rendering each until the
/// response timeout, so the memory grows with the number of connections times the size of
/// the exposition. With this bound it is at most `limit` plus the newest rendering, and
/// the clients whose responses are cut are the ones that read least recently started.
public final class ResponseMemory: Sendable {
    /// Bytes held now, the bound, and the clients cut at the bound.
    public struct Reading: Sendable, Equatable {
        public var heldBytes: Int
        public var limit: Int
        public var cutClients: Int
    }

    private struct Entry {
        weak var holder: (any HeldResponse)?
        var bytes: Int
        let order: Int
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var total = 0
        var nextOrder = 0
        var cut = 0
    }

    public let limit: Int
    private let state = Mutex(State())

    public init(limit: Int) { self.limit = limit }

    /// Counts `bytes` more held by `holder` (registered at its first call); releases the
    /// oldest other holders while the total passes the limit. The newest holder is never
    /// released for its own growth, so one response larger than the limit is still sent.
    public func add(_ bytes: Int, heldBy holder: any HeldResponse) {
        let id = ObjectIdentifier(holder)
        let victims = state.withLock { state -> [any HeldResponse] in
            if state.entries[id] == nil {
                state.entries[id] = Entry(holder: holder, bytes: 0, order: state.nextOrder)
                state.nextOrder += 1
            }
            state.entries[id]!.bytes += bytes
            state.total += bytes
            var victims: [any HeldResponse] = []
            while state.total > limit {
                guard let oldest = state.entries.lazy.filter({ $0.key != id }).min(by: { $0.value.order < $1.value.order }) else { break }
                state.entries[oldest.key] = nil
                state.total -= oldest.value.bytes
                if let victim = oldest.value.holder { victims.append(victim) }
            }
            return victims
        }
        // Released outside the lock: releasing wakes the victims' readers.
        let cut = victims.reduce(0) { $0 + $1.release() }
        if cut > 0 { state.withLock { $0.cut += cut } }
    }

    /// Forgets a holder that freed what it held (its last reader finished, or it was
    /// dropped); nothing happens for one already released.
    public func remove(_ holder: ObjectIdentifier) {
        state.withLock { state in
            guard let entry = state.entries.removeValue(forKey: holder) else { return }
            state.total -= entry.bytes
        }
    }

    public var reading: Reading {
        state.withLock { Reading(heldBytes: $0.total, limit: limit, cutClients: $0.cut) }
    }
}
