import AsyncAlgorithms
import ServiceLifecycle

/// Runs `body` now and then every `interval` until graceful shutdown: the loop of every
/// background task. A run still in flight at shutdown is cancelled, not waited for.
func runPeriodically(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
    try await cancelWhenGracefulShutdown { await body() }
    for try await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
        try await cancelWhenGracefulShutdown { await body() }
    }
}
