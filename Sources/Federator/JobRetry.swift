import AsyncHTTPClient
import Logging

/// Retries and HTTP exchanges bounded by a job's deadline, for the InfluxDB query client
/// and the BigQuery writer.
enum JobRetry {
    /// Runs `operation` until it succeeds, fails with an error that is not retryable, or the
    /// deadline leaves no time for another attempt; waits 250 ms doubling to 5 s between
    /// attempts. Each attempt gets the time left, at most 10 s, because the HTTP client
    /// retries a refused connection until the request's own deadline.
    static func run<T>(
        _ what: String, deadline: ContinuousClock.Instant, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ operation: (Duration) async throws -> T
    ) async throws -> T {
        var delay = Duration.milliseconds(250)
        var attempt = 0
        while true {
            attempt += 1
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                throw FederatorError(description: "\(what): not attempted, the job timeout (-cron-job-timeout-second) was reached", retryable: false)
            }
            do {
                return try await operation(min(left, .seconds(10)))
            } catch let error as FederatorError where error.retryable {
                if ContinuousClock.now + delay >= deadline {
                    throw FederatorError(description: "\(error) (gave up after \(attempt) attempts: job timeout)", retryable: false)
                }
                logger.warning("retrying", metadata: ["what": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Sends `request` with `timeout`; a failure to connect or to get an answer becomes a
    /// retryable ``FederatorError`` naming `server` and the URL's origin.
    static func execute(_ client: HTTPClient, _ request: HTTPClientRequest, timeout: Duration, server: String) async throws -> HTTPClientResponse {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        do {
            return try await client.execute(request, timeout: .nanoseconds(max(1, nanoseconds)))
        } catch let error as CancellationError {
            throw error
        } catch {
            throw FederatorError(description: "cannot reach \(server) at \(origin(request.url)): \(error)", retryable: true)
        }
    }

    /// scheme://host:port of a URL, so errors do not quote whole encoded queries.
    static func origin(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        return String(url[..<schemeEnd.upperBound]) + String(rest.prefix(while: { $0 != "/" && $0 != "?" }))
    }

    /// One line of at most 300 characters from an error body, for messages.
    static func excerpt(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }
}
