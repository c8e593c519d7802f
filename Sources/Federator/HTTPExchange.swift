import AsyncHTTPClient
import Diagnostics
import Logging
import NIOCore
import NIOHTTP1

/// Runs `operation` and abandons it at `deadline`: the operation is cancelled, and the
/// caller gets a retryable timeout error right away instead of waiting on a stalled peer.
/// The HTTP client's own deadline stops at the response head; this one covers the body too.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, _ what: String,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            try Task.checkCancellation()
            throw FederatorError(description: "\(what): no complete answer before the deadline", retryable: true)
        }
        return value
    }
}

/// An HTTP answer read whole (bounded), for the small exchanges: writes and pings.
struct HTTPAnswer: Sendable {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: ByteBuffer
}

/// The federator's HTTP exchanges: one client, deadlines on whole exchanges, and the retry
/// policy (5xx, 429 and connection problems with backoff; other answers are final).
struct HTTPExchange: Sendable {
    let client: HTTPClient
    let logger: Logger

    /// Each attempt of a write or ping is capped so that a slow one leaves room for retries.
    static let attemptLimit = Duration.seconds(10)
    /// Error bodies and ping answers are small; anything longer is cut.
    static let smallBodyLimit = 1 << 20

    /// Sends `request` and reads the whole answer before `deadline`.
    func send(_ request: HTTPClientRequest, server: String, deadline: ContinuousClock.Instant) async throws -> HTTPAnswer {
        let client = self.client
        return try await withDeadline(deadline, "\(server) at \(Self.origin(request.url))") {
            let response = try await Self.execute(client, request, server: server, deadline: deadline)
            var body = ByteBuffer()
            for try await chunk in response.body {
                var chunk = chunk
                body.writeBuffer(&chunk)
                if body.readableBytes >= Self.smallBodyLimit { break }
            }
            return HTTPAnswer(status: response.status, headers: response.headers, body: body)
        }
    }

    /// POSTs `body` to `url` with retries (see ``withRetries(_:deadline:_:)``) and returns
    /// the first answer that is not worth retrying: a 2xx, or a refusal to report.
    func post(_ url: String, headers: HTTPHeaders, body: ByteBuffer, server: String, deadline: ContinuousClock.Instant) async throws -> HTTPAnswer {
        try await withRetries("\(server) write", deadline: deadline) { attemptDeadline in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers = headers
            request.body = .bytes(body)
            let answer = try await send(request, server: server, deadline: attemptDeadline)
            if Self.isRetryable(answer.status) { try Self.check(answer, server: server) }
            return answer
        }
    }

    /// Starts `request`, mapping the client's errors to a retryable ``FederatorError``.
    static func execute(
        _ client: HTTPClient, _ request: HTTPClientRequest, server: String, deadline: ContinuousClock.Instant
    ) async throws -> HTTPClientResponse {
        // The client's own deadline comes a little earlier than the whole exchange's, so
        // that when no answer arrives its reason (e.g. "connection refused") is the one reported.
        let left = deadline - ContinuousClock.now - .milliseconds(100)
        let nanoseconds = max(1, Int64(left / .nanoseconds(1)))
        do {
            return try await client.execute(request, deadline: .now() + .nanoseconds(nanoseconds))
        } catch let error as CancellationError {
            throw error
        } catch {
            try Task.checkCancellation()
            throw FederatorError(description: "cannot reach \(server) at \(origin(request.url)): \(error)", retryable: true)
        }
    }

    /// scheme://host:port of a URL, so errors do not quote whole encoded queries, with the
    /// password of any user info redacted.
    static func origin(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return redactedURL(url) }
        let rest = url[schemeEnd.upperBound...]
        return redactedURL(String(url[..<schemeEnd.upperBound]) + String(rest.prefix(while: { $0 != "/" && $0 != "?" })))
    }

    /// Throws for an answer that is not 2xx, quoting the server's message; 5xx and 429 are retryable.
    static func check(_ answer: HTTPAnswer, server: String) throws {
        guard !(200..<300).contains(Int(answer.status.code)) else { return }
        throw FederatorError(
            description: "\(server) answered \(answer.status.code) \(answer.status.reasonPhrase)" + quote(answer.body),
            retryable: isRetryable(answer.status))
    }

    /// The remote-write and InfluxDB rule: try again on 5xx and 429 only.
    static func isRetryable(_ status: HTTPResponseStatus) -> Bool {
        status.code >= 500 || status.code == 429
    }

    /// ": first 300 characters of the body on one line", or "" for an empty body.
    static func quote(_ body: ByteBuffer) -> String {
        let message = excerpt(String(buffer: body))
        return message.isEmpty ? "" : ": " + message
    }

    /// One line of at most 300 characters from an error body or message.
    static func excerpt(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 300 ? String(line.prefix(300)) + "..." : line
    }

    /// Retries `operation` with exponential backoff (see ``retrying(_:deadline:logger:_:)``).
    func withRetries<T: Sendable>(
        _ what: String, deadline: ContinuousClock.Instant,
        _ operation: @Sendable (ContinuousClock.Instant) async throws -> T
    ) async throws -> T {
        try await Self.retrying(what, deadline: deadline, logger: logger, operation)
    }

    /// Retries `operation` with exponential backoff (250 ms doubling to 5 s) while it fails
    /// with a retryable error and `deadline` allows; each attempt gets its own deadline,
    /// at most ``attemptLimit`` away.
    static func retrying<T>(
        _ what: String, deadline: ContinuousClock.Instant, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ operation: (ContinuousClock.Instant) async throws -> T
    ) async throws -> T {
        var delay = Duration.milliseconds(250)
        var attempt = 0
        while true {
            try Task.checkCancellation()
            attempt += 1
            let now = ContinuousClock.now
            guard now < deadline else {
                throw FederatorError(description: "\(what): not attempted, the job timeout (-cron-job-timeout-second) was reached", retryable: true)
            }
            do {
                return try await operation(min(deadline, now + attemptLimit))
            } catch let error as FederatorError where error.retryable {
                try Task.checkCancellation()
                if ContinuousClock.now + delay >= deadline {
                    throw FederatorError(description: "\(error) (gave up after \(attempt) attempts: job timeout)", retryable: true)
                }
                logger.warning("retrying", metadata: ["what": "\(what)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
