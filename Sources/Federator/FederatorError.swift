/// Every error of the federator: a one-line reason for the log, and whether trying the
/// same exchange again may help.
public struct FederatorError: Error, Equatable, CustomStringConvertible {
    /// The one-line reason.
    public let description: String
    /// Whether trying again may help (5xx, 429, connection problems, timeouts).
    public let retryable: Bool

    /// An error with `description`; not retryable unless said so.
    public init(description: String, retryable: Bool = false) {
        self.description = description
        self.retryable = retryable
    }

    /// A cron expression that cannot be used, with the reason.
    static func cronSchedule(_ expression: String, _ reason: String) -> FederatorError {
        FederatorError(description: "invalid cron schedule \"\(expression)\": \(reason); expected \"second minute hour day-of-month month day-of-week\", e.g. \"*/30 * * * * *\"")
    }
}
