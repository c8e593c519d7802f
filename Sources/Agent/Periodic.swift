import Diagnostics
import Foundation
import ServiceLifecycle
import Synchronization

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

/// Runs `loop` on a thread of its own, named `name`, until graceful shutdown (or
/// cancellation), and then stops the alarm `loop` sleeps on, which makes its sleeps
/// return nil: the loop of a task whose work blocks, or that wakes too often for a Swift
/// concurrency timer (each tick of one wakes libdispatch's timer thread and then a pool
/// thread). Returns without waiting for the thread, which ends after the run it may be in.
func runOnOwnThread(named name: String, _ loop: @escaping @Sendable (ThreadAlarm) -> Void) async {
    let alarm = ThreadAlarm()
    Thread {
        nameCurrentThread(name)
        loop(alarm)
    }.start()
    try? await gracefulShutdown()
    alarm.stop()
}

/// What a task's own thread sleeps on between runs: a deadline (monotonic), an early
/// request, and shutdown.
final class ThreadAlarm: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let fired = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)

    /// Something happened that the next run should not wait for; once per `rearm`.
    func fire() {
        if !fired.exchange(true, ordering: .acquiringAndReleasing) { semaphore.signal() }
    }

    func rearm() { fired.store(false, ordering: .releasing) }

    /// Shutdown: wakes the sleeper, now and at every later sleep.
    func stop() {
        stopped.store(true, ordering: .releasing)
        semaphore.signal()
    }

    /// Sleeps until `deadline` or an early request; true when woken early, nil once stopped.
    func sleep(until deadline: DispatchTime) -> Bool? {
        if stopped.load(ordering: .acquiring) { return nil }
        let woken = semaphore.wait(timeout: deadline) == .success
        return stopped.load(ordering: .acquiring) ? nil : woken
    }

    /// Sleeps until `deadline`, waking only to stop; false once stopped.
    func sleepIgnoringFires(until deadline: DispatchTime) -> Bool {
        while !stopped.load(ordering: .acquiring) {
            if semaphore.wait(timeout: deadline) == .timedOut { return true }
        }
        return false
    }
}

extension DispatchTime {
    /// This time plus `duration`.
    func advanced(by duration: Duration) -> DispatchTime {
        let (seconds, attoseconds) = duration.components
        return self + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}
