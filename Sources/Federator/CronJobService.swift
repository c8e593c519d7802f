import Foundation
import Logging
import ServiceLifecycle

/// Runs a job at every fire time of a ``CronSchedule`` until shutdown. A graceful
/// shutdown stops the wait for the next run but lets a running job finish (bounded by the
/// job's own timeout), so what it holds is written, not lost. Jobs of one service never
/// overlap: a run that overruns delays the next fire time.
public struct CronJobService: Service {
    /// The job: the fire time it runs for and the previous run's fire time (nil the first
    /// time), both in Unix seconds.
    public typealias Job = @Sendable (_ runTime: Int, _ previousRunTime: Int?) async -> Void

    private let name: String
    private let schedule: CronSchedule
    private let logger: Logger
    private let job: Job

    /// A service firing `job` on `schedule`; `name` appears in its log lines.
    public init(name: String, schedule: CronSchedule, logger: Logger, job: @escaping Job) {
        self.name = name
        self.schedule = schedule
        self.logger = logger
        self.job = job
    }

    public func run() async throws {
        var previous: Int?
        await Self.fire(on: schedule, name: name, logger: logger) { runTime in
            await job(runTime, previous)
            previous = runTime
        }
    }

    /// Calls `body` at every fire time of `schedule` (Unix seconds) until a graceful
    /// shutdown or cancellation ends the wait, or the schedule never fires again. Calls never
    /// overlap: one that overruns delays the next fire time. `name` appears in its log lines.
    static func fire(
        on schedule: CronSchedule, name: String, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Int) async -> Void
    ) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Date().timeIntervalSince1970
            guard let next = schedule.next(after: Int(now.rounded(.down))) else {
                logger.error("cron schedule never fires again; stopping", metadata: ["job": "\(name)"])
                return
            }
            let wait = Duration.milliseconds(Int64(((Double(next) - now) * 1000).rounded(.up)))
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                break
            }
            await body(next)
        }
        logger.info("\(name) stopped")
    }
}
