import Foundation
import Logging
import ServiceLifecycle

/// Runs a ``Federator`` job at every fire time of a ``CronSchedule`` until shutdown.
/// A graceful shutdown stops the wait for the next run but lets a running job finish
/// (bounded by the job timeout), so the points it holds are written, not lost.
public struct FederatorService: Service {
    private let schedule: CronSchedule
    private let federator: Federator
    private let logger: Logger

    /// A service firing `federator` on `schedule`.
    public init(schedule: CronSchedule, federator: Federator, logger: Logger) {
        self.schedule = schedule
        self.federator = federator
        self.logger = logger
    }

    public func run() async throws {
        var previous: Int?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Date().timeIntervalSince1970
            guard let next = schedule.next(after: Int(now.rounded(.down))) else {
                logger.error("cron schedule never fires again; stopping")
                return
            }
            let wait = Duration.milliseconds(Int64(((Double(next) - now) * 1000).rounded(.up)))
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                break
            }
            // After an overrun, the window stretches back to the previous run so no data is skipped.
            let period = previous.map { next - $0 } ?? Self.period(of: schedule, near: next)
            _ = await federator.run(runTime: next, periodSeconds: period)
            previous = next
        }
        logger.info("federator stopped")
    }

    /// The gap between the next two fire times after `time - 1`: the length of window a
    /// run covers when there is no previous run (the first run, `-once`).
    public static func period(of schedule: CronSchedule, near time: Int) -> Int {
        guard let first = schedule.next(after: time - 1), let second = schedule.next(after: first) else { return 60 }
        return second - first
    }
}
