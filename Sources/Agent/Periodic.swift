import ServiceLifecycle

/// Runs `body` now and then every `interval` until graceful shutdown: the loop of the
/// background tasks that run on the cooperative pool (the socket table and the history
/// have threads of their own). A run still in flight at shutdown is cancelled, not
/// waited for.
func runPeriodically(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
    // One shutdown watch for the whole loop rather than one per run (a task group and
    // two child tasks each time): between runs the task costs one timer and nothing else.
    // Graceful shutdown or cancellation cancels the loop, the run in flight included.
    await cancelWhenGracefulShutdown {
        await body()
        let clock = ContinuousClock()
        // Deadlines follow from the previous one, not from when a run ended.
        var deadline = clock.now
        while !Task.isCancelled {
            deadline = deadline.advanced(by: interval)
            do { try await clock.sleep(until: deadline) } catch { return }
            await body()
        }
    }
}
