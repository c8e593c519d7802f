import Foundation
import Logging
import ServiceLifecycle

/// Runs a ``Federator`` job at every fire time of a ``CronSchedule`` until shutdown, or
/// once. A graceful shutdown (SIGTERM, SIGINT) stops the wait for the next run and cancels
/// a running job at once: what it has not written is kept as pending windows (in the state
/// file when there is one), so the process exits within moments and loses nothing.
public struct FederatorService: Service {
    private let schedule: CronSchedule
    private let federator: Federator
    private let once: Bool
    private let logger: Logger
    private let metrics: FederatorMetrics?
    private let finished: (@Sendable (RunSummary) -> Void)?

    /// A service firing `federator` on `schedule`; with `once`, one job for the schedule
    /// period that ends now, then `finished` is called with its summary and the service returns.
    /// Every run's summary is added to `metrics`.
    public init(schedule: CronSchedule, federator: Federator, once: Bool = false, logger: Logger,
                metrics: FederatorMetrics? = nil, finished: (@Sendable (RunSummary) -> Void)? = nil) {
        self.schedule = schedule
        self.federator = federator
        self.once = once
        self.logger = logger
        self.metrics = metrics
        self.finished = finished
    }

    public func run() async throws {
        if once {
            let now = Int(Date().timeIntervalSince1970)
            let summary = await runJob(runTime: now)
            finished?(summary)
            return
        }
        await CronJobService.fire(on: schedule, name: "federator", logger: logger) { runTime in
            _ = await runJob(runTime: runTime)
        }
    }

    /// One job, cancelled by a graceful shutdown.
    private func runJob(runTime: Int) async -> RunSummary {
        let federator = self.federator
        let period = Self.period(of: schedule, near: runTime)
        let started = Date()
        let summary = await cancelWhenGracefulShutdown {
            await federator.run(runTime: runTime, periodSeconds: period)
        }
        metrics?.record(summary, started: started, finished: Date())
        return summary
    }

    /// The gap between the next two fire times after `time - 1`: the length of window a
    /// run covers when there is no previous run (the first run, `-once`).
    public static func period(of schedule: CronSchedule, near time: Int) -> Int {
        guard let first = schedule.next(after: time - 1), let second = schedule.next(after: first) else { return 60 }
        return second - first
    }
}
