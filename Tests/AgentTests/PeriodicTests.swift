import Foundation
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

struct ThreadAlarmTests {
    /// An early request wakes the sleeper long before its deadline, once per rearm.
    @Test func aFireWakesTheSleeperOncePerRearm() {
        let alarm = ThreadAlarm()
        alarm.fire()
        alarm.fire()
        let start = ContinuousClock.now
        #expect(alarm.sleep(until: .now().advanced(by: .seconds(30))) == true)
        #expect(ContinuousClock.now - start < .seconds(10))
        // The second fire before a rearm was not counted: this sleep runs to its deadline.
        #expect(alarm.sleep(until: .now().advanced(by: .milliseconds(50))) == false)
        alarm.rearm()
        alarm.fire()
        #expect(alarm.sleep(until: .now().advanced(by: .seconds(30))) == true)
    }

    /// The spacing after an early request is not cut short by another request.
    @Test func theSpacingIgnoresFiresButNotAStop() {
        let alarm = ThreadAlarm()
        alarm.fire()
        let start = ContinuousClock.now
        #expect(alarm.sleepIgnoringFires(until: .now().advanced(by: .milliseconds(100))))
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        alarm.stop()
        #expect(!alarm.sleepIgnoringFires(until: .now().advanced(by: .seconds(30))))
    }

    /// A stop from another thread ends a sleep at once, and every later one.
    @Test func aStopEndsEverySleep() {
        let alarm = ThreadAlarm()
        let stopper = Thread { alarm.stop() }
        stopper.start()
        let start = ContinuousClock.now
        #expect(alarm.sleep(until: .now().advanced(by: .seconds(30))) == nil)
        #expect(alarm.sleep(until: .now().advanced(by: .seconds(30))) == nil)
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
