import ServiceLifecycle
import Synchronization

/// When a periodic task may run before its interval is up.
struct EarlyRun: Sendable {
    /// The shortest time between the starts of two runs when one starts early.
    var minimumSpacing: Duration
    /// Asks to be told, once, when something happens that the next run should not wait
    /// for, by calling the function it is given (from any thread). Called after each run.
    var arm: @Sendable (_ fire: @escaping @Sendable () -> Void) -> Void
}

/// Runs `body` now and then every `interval` until graceful shutdown: the loop of every
/// background task. With `early`, a run also starts as soon as `early` fires, at most
/// once per `early.minimumSpacing`; between runs the task sleeps until the interval is
/// up or it is fired, never waking to ask. A run still in flight at shutdown is
/// cancelled, not waited for.
func runPeriodically(every interval: Duration, early: EarlyRun? = nil,
                     _ body: @escaping @Sendable () async -> Void) async throws {
    guard let early else {
        // One shutdown watch for the whole loop rather than one per run (a task group and
        // two child tasks each time): between runs the task costs one timer and nothing
        // else, which is most of what an idle agent spends on its once-a-second history.
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
        return
    }
    try await cancelWhenGracefulShutdown { await body() }
    let signal = EarlySignal()
    try await withTaskCancellationHandler {
        try await withGracefulShutdownHandler {
            let clock = ContinuousClock()
            var lastStart = clock.now
            early.arm(signal.fire)
            while true {
                let fired = await signal.wait(until: lastStart + interval, wakeOnFire: true)
                if fired {
                    _ = await signal.wait(until: lastStart + early.minimumSpacing, wakeOnFire: false)
                }
                if signal.isStopped { return }
                lastStart = clock.now
                try await cancelWhenGracefulShutdown { await body() }
                early.arm(signal.fire)
            }
        } onGracefulShutdown: {
            signal.stop()
        }
    } onCancel: {
        signal.stop()
    }
}

/// What a periodic task sleeps on between runs: a deadline, a one-shot early signal, and
/// shutdown, whichever comes first.
final class EarlySignal: Sendable {
    private struct State {
        var fired = false
        var stopped = false
        /// The sleeper, and whether `fire` should wake it.
        var waiter: (continuation: CheckedContinuation<Void, Never>, wakeOnFire: Bool, id: UInt64)? = nil
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Something happened that the next run should not wait for.
    func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.fired = true
            guard let waiter = state.waiter, waiter.wakeOnFire else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Shutdown: wakes the sleeper now and every later wait at once.
    func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopped = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume()
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Sleeps until `deadline`, shutdown, or (with `wakeOnFire`) a `fire`, which may have
    /// come before the call. Returns true when it was fired, and consumes the fire.
    func wait(until deadline: ContinuousClock.Instant, wakeOnFire: Bool) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                self.timeOut(id)
            }
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.stopped || (wakeOnFire && state.fired) || ContinuousClock.now >= deadline { return true }
                    state.waiter = (continuation, wakeOnFire, id)
                    return false
                }
                if now { continuation.resume() }
            }
            group.cancelAll()
        }
        return state.withLock { state in
            guard wakeOnFire, state.fired else { return false }
            state.fired = false
            return true
        }
    }

    /// The deadline of wait `id` passed: wakes it if it still sleeps.
    private func timeOut(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
