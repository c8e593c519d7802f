import AsyncAlgorithms
import ServiceLifecycle

/// When a periodic task may run before its interval is up.
struct EarlyRun: Sendable {
    /// How often `isDue` is asked.
    var checkEvery: Duration
    /// The shortest time between the starts of two runs when one starts early.
    var minimumSpacing: Duration
    /// True when something happened that the next run should not wait for.
    var isDue: @Sendable () -> Bool
}

/// Runs `body` now and then every `interval` until graceful shutdown: the loop of every
/// background task. With `early`, a run also starts as soon as `early.isDue` says so,
/// at most once per `early.minimumSpacing`. A run still in flight at shutdown is
/// cancelled, not waited for.
func runPeriodically(every interval: Duration, early: EarlyRun? = nil,
                     _ body: @escaping @Sendable () async -> Void) async throws {
    try await cancelWhenGracefulShutdown { await body() }
    guard let early else {
        for try await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            try await cancelWhenGracefulShutdown { await body() }
        }
        return
    }
    let clock = ContinuousClock()
    var lastStart = clock.now
    let tick = min(interval, early.checkEvery)
    for try await _ in AsyncTimerSequence(interval: tick, clock: .continuous).cancelOnGracefulShutdown() {
        let elapsed = clock.now - lastStart
        // Half a tick of slack, so timer jitter never pushes a due run to the next tick.
        let due = elapsed + tick / 2 >= interval || (elapsed >= early.minimumSpacing && early.isDue())
        guard due else { continue }
        lastStart = clock.now
        try await cancelWhenGracefulShutdown { await body() }
    }
}
