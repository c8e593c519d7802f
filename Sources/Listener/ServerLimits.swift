import NIOCore
import Synchronization

/// How long and how many clients the HTTP server gives its time to, so that no client can
/// hold it: a stalled or slow client is closed after a timeout, and when the connection cap
/// is reached the longest-idle connection makes room for a new one.
public struct ServerLimits: Sendable, Equatable {
    /// A keep-alive connection with no request for this long is closed (Hummingbird's idle
    /// timeout); so is a response the client stops reading for this long.
    public var idleTimeout: Duration = .seconds(30)
    /// A request head must be complete this long after the connection opens, or after the
    /// first byte of a next request on a kept-alive one (Go's ReadHeaderTimeout).
    public var readHeaderTimeout: Duration = .seconds(10)
    /// A response must be sent whole this long after its request head came, however
    /// steadily its client reads; past it the connection is closed.
    public var responseTimeout: Duration = .seconds(60)
    /// Connections open at once, at most.
    public var maxConnections = 256
    /// Bytes of one header field, and of all header fields of a request, at most.
    public var maxHeaderFieldBytes = 16 * 1024
    public var maxHeaderBytes = 32 * 1024
    /// Header fields of a request, at most.
    public var maxHeaderFields = 100

    public init() {}
}

/// The server's open connections, across event loops, to enforce the connection cap:
/// past it, an idle connection (no request in progress) is closed to make room, so
/// scrapes keep being served while stalled clients fill the cap: first the oldest of
/// those that were never answered (a client that sent nothing, a half-sent head), then
/// the longest-idle keep-alive, so a scraper's kept-alive connection outlives a flood of
/// stalled ones. If every connection is busy with a request, the one whose response has
/// run longest makes room when it has run past `stalledAfter` (a scrape takes a second or
/// two; a response still going after that is held by a slow reader); else the new one
/// is closed.
final class ConnectionRegistry: Sendable {
    /// Why the server closed a connection itself.
    enum CloseReason: String, CaseIterable, Sendable {
        case evicted, refused
        case headerTimeout = "header_timeout"
        case writeTimeout = "write_timeout"
        case responseTimeout = "response_timeout"
    }

    private struct Entry {
        var channel: any Channel
        var busy: Bool
        /// A response was written whole on it.
        var answered = false
        var since: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var nextID = 0
        var closed: [CloseReason: Int] = [:]
        var accepted = 0
    }

    let limit: Int
    let stalledAfter: Duration
    private let state = Mutex(State())

    init(limit: Int, stalledAfter: Duration = .seconds(10)) {
        self.limit = limit
        self.stalledAfter = stalledAfter
    }

    /// Registers a new connection; closes the longest-idle one if the cap is passed, or
    /// the new one if every other is busy. Returns the new connection's id.
    func add(_ channel: any Channel, now: ContinuousClock.Instant = .now) -> Int {
        let (id, victim) = state.withLock { state -> (Int, (any Channel)?) in
            let id = state.nextID
            state.nextID += 1
            state.accepted += 1
            state.entries[id] = Entry(channel: channel, busy: false, since: now)
            guard state.entries.count > limit else { return (id, nil) }
            let idle = state.entries.filter { $0.key != id && !$0.value.busy }.min {
                ($0.value.answered ? 1 : 0, $0.value.since) < ($1.value.answered ? 1 : 0, $1.value.since)
            }
            if let idle {
                state.entries[idle.key] = nil
                state.closed[.evicted, default: 0] += 1
                return (id, idle.value.channel)
            }
            let stalled = state.entries.filter { $0.key != id && now - $0.value.since >= stalledAfter }.min {
                $0.value.since < $1.value.since
            }
            if let stalled {
                state.entries[stalled.key] = nil
                state.closed[.evicted, default: 0] += 1
                return (id, stalled.value.channel)
            }
            state.entries[id] = nil
            state.closed[.refused, default: 0] += 1
            return (id, channel)
        }
        // Closed from its own event loop, after whatever setup is running there now.
        if let victim { victim.eventLoop.execute { victim.close(promise: nil) } }
        return id
    }

    /// Marks a connection busy (a request head came) or idle (its response was written).
    func setBusy(_ id: Int, _ busy: Bool, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.entries[id] != nil else { return }
            state.entries[id]!.busy = busy
            if !busy { state.entries[id]!.answered = true }
            state.entries[id]!.since = now
        }
    }

    /// Forgets a closed connection.
    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Counts a connection closed by a timeout.
    func count(_ reason: CloseReason) {
        state.withLock { $0.closed[reason, default: 0] += 1 }
    }

    /// Connections open now, connections accepted, and those closed by the server, by reason.
    var reading: (open: Int, accepted: Int, closed: [CloseReason: Int]) {
        state.withLock { ($0.entries.count, $0.accepted, $0.closed) }
    }
}
