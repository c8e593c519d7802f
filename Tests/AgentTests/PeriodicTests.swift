import Synchronization
import Testing

@testable import Agent

struct PeriodicTests {
    final class Runs: Sendable {
        let times = Mutex<[ContinuousClock.Instant]>([])
        func record() { times.withLock { $0.append(.now) } }
        var count: Int { times.withLock { $0.count } }
    }

    /// Runs at once, then once per interval; cancelling the task ends the loop, the run
    /// in flight or the wait between runs, and the function returns rather than throws.
    @Test func runsEveryIntervalUntilCancelled() async throws {
        let runs = Runs()
        let task = Task { try await runPeriodically(every: .milliseconds(20)) { runs.record() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while runs.count < 5 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        try await task.value
        let times = runs.times.withLock { $0 }
        #expect(times.count >= 5)
        // Deadlines follow one another: five runs take at least four intervals.
        #expect(times[4] - times[0] >= .milliseconds(80))
    }
}
