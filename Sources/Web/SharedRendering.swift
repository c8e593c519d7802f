import Listener
import NIOCore
import PlanetMetrics
import Synchronization

/// One rendering of the registry, gzip or plain, shared by every scrape that starts less
/// than `maxAge` after it did: two Prometheus servers of an HA pair, or many clients
/// polling without pause, cost one rendering (and one snapshot of the tables) a second
/// instead of one each. With `shareFinished` false, only scrapes that start while it is
/// still being written share it: they get what they would have got alone, no older.
///
/// The rendering is kept part by part as the registry writes it (compressed when
/// `gzip`), and each scrape sends the parts as they come, so the first bytes leave
/// before the last series is written. What is held is one rendering (a gzip one is about
/// a tenth of the exposition), until `maxAge` after it was finished and while a response
/// still sends it (which -web.response-timeout bounds). Every rendering counts against
/// `memory`: past its limit the oldest renderings are released and their slow readers cut.
final class SharedRendering: Sendable {
    private let registry: MetricsRegistry
    private let maxAge: Duration
    private let gzip: Bool
    private let shareFinished: Bool
    private let memory: ResponseMemory
    private let current = Mutex<Rendering?>(nil)

    init(registry: MetricsRegistry, maxAge: Duration, gzip: Bool = true, shareFinished: Bool = true, memory: ResponseMemory) {
        self.registry = registry
        self.maxAge = maxAge
        self.gzip = gzip
        self.shareFinished = shareFinished
        self.memory = memory
    }

    /// The rendering to send: the current one when it started less than `maxAge` ago,
    /// else a new one, started now.
    func rendering() -> Rendering {
        let clock = ContinuousClock()
        let (rendering, isNew) = current.withLock { current -> (Rendering, Bool) in
            if let rendering = current, clock.now - rendering.started < maxAge, shareFinished || !rendering.isFinished,
               !rendering.isReleased {
                return (rendering, false)
            }
            let rendering = Rendering(started: clock.now, memory: memory)
            current = rendering
            return (rendering, true)
        }
        if isNew {
            // Not tied to the scrape that started it: the others read it too, even if
            // that one's client goes away.
            Task.detached { [registry, maxAge, gzip, self] in
                let encoder = gzip ? GzipEncoder() : nil
                await registry.write { part in
                    guard let encoder else { return rendering.append(ByteBuffer(bytes: part)) }
                    let compressed = encoder.compress(part)
                    if compressed.readableBytes > 0 { rendering.append(compressed) }
                }
                if let encoder { rendering.append(encoder.finish()) }
                rendering.finish()
                try? await Task.sleep(for: maxAge)
                self.current.withLock { if $0 === rendering { $0 = nil } }
            }
        }
        return rendering
    }

    /// The parts of one rendering (compressed for gzip), readable while it is being written.
    final class Rendering: HeldResponse {
        let started: ContinuousClock.Instant
        private let memory: ResponseMemory
        private struct State {
            var parts: [ByteBuffer] = []
            var finished = false
            /// Given up at the memory bound: its parts are gone.
            var released = false
            var readers = 0
            var waiters: [CheckedContinuation<Void, Never>] = []
        }
        private let state = Mutex(State())

        /// Thrown to a reader of a rendering released at the memory bound.
        struct Released: Error {}

        init(started: ContinuousClock.Instant, memory: ResponseMemory) {
            self.started = started
            self.memory = memory
        }

        deinit { memory.remove(ObjectIdentifier(self)) }

        /// Whether its last part is written.
        var isFinished: Bool { state.withLock { $0.finished } }

        /// Whether it was released at the memory bound.
        var isReleased: Bool { state.withLock { $0.released } }

        func append(_ part: ByteBuffer) {
            let (kept, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                guard !state.released else { return (false, []) }
                state.parts.append(part)
                defer { state.waiters = [] }
                return (true, state.waiters)
            }
            for waiter in waiters { waiter.resume() }
            if kept { memory.add(part.readableBytes, heldBy: self) }
        }

        func finish() {
            let waiters = state.withLock { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }

        func release() -> Int {
            let (readers, waiters) = state.withLock { state in
                state.released = true
                state.parts = []
                defer { state.waiters = [] }
                return (state.readers, state.waiters)
            }
            for waiter in waiters { waiter.resume() }
            return readers
        }

        /// Sends every part to `write` as it is written; throws `Released` when the
        /// rendering is released at the memory bound before the last part was sent.
        func send(_ write: (ByteBuffer) async throws -> Void) async throws {
            state.withLock { $0.readers += 1 }
            defer { state.withLock { $0.readers -= 1 } }
            var index = 0
            while let part = try await part(index) {
                try await write(part)
                index += 1
            }
        }

        /// The part at `index`, once it is written; nil past the last part.
        func part(_ index: Int) async throws -> ByteBuffer? {
            while true {
                let ready = try state.withLock { state -> ByteBuffer?? in
                    if state.released { throw Released() }
                    if index < state.parts.count { return .some(state.parts[index]) }
                    return state.finished ? .some(nil) : nil
                }
                if let ready { return ready }
                await withCheckedContinuation { continuation in
                    let now = state.withLock { state -> Bool in
                        if index < state.parts.count || state.finished || state.released { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }
}
