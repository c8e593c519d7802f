import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Puts every route behind `-web.allowed-hosts` (421 for another Host) and the web
/// config, in exporter-toolkit's order: the rate limit (429), then basic auth (401 with
/// `WWW-Authenticate: Basic`, 429 when the source address has spent its failed checks),
/// and the configured headers on every response, refusals included. It wraps the whole
/// responder, so a route added anywhere, and a path that matches none, is covered alike.
struct WebConfigResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context: RequestContext {
    typealias Context = Inner.Context

    let inner: Inner
    /// nil without a web config file: every request goes straight through.
    let webConfig: WebConfigReloader?
    var allowedHosts = AllowedHosts()
    var refusals = RefusedRequests()
    var authenticator = BasicAuthenticator()
    let limiter = RateLimiter()

    func respond(to request: Request, context: Context) async throws -> Response {
        let config = webConfig?.current().config
        var response: Response
        if !allowedHosts.allows(request.head.authority) {
            refusals.count(.host)
            response = Self.plain(.misdirectedRequest)
        } else if let config {
            response = try await respond(to: request, context: context, config: config)
        } else {
            return try await inner.respond(to: request, context: context)
        }
        for header in config?.headers ?? [] {
            if let name = HTTPField.Name(header.name) { response.headers[name] = header.value }
        }
        return response
    }

    private func respond(to request: Request, context: Context, config: WebConfig) async throws -> Response {
        if !limiter.allow(config.rateLimit) { return Self.plain(.tooManyRequests) }
        if config.users.isEmpty { return try await respondInner(request, context) }
        var outcome = BasicAuthenticator.Outcome.denied
        if let header = request.headers[.authorization],
           let (user, password) = BasicAuthenticator.credentials(fromAuthorization: header) {
            outcome = await authenticator.authenticate(user: user, password: password, users: config.users,
                                                       source: SourceKey(RequestSource.address))
        }
        switch outcome {
        case .allowed:
            return try await respondInner(request, context)
        case .denied:
            var response = Self.plain(.unauthorized)
            response.headers[.wwwAuthenticate] = "Basic"
            return response
        case .busy, .throttled:
            refusals.count(outcome == .busy ? .authBusy : .authThrottled)
            // Answered after the time a client is told to wait: a client that asks again
            // at once, on a kept-alive connection, sends one request a second instead of
            // thousands (each costs the event loops more than its bcrypt refusal saves).
            try? await Task.sleep(for: BasicAuthenticator.failureRefill)
            var response = Self.plain(.tooManyRequests)
            response.headers[.retryAfter] = "\(Int(BasicAuthenticator.failureRefill / .seconds(1)))"
            return response
        }
    }

    private func respondInner(_ request: Request, _ context: Context) async throws -> Response {
        do {
            return try await inner.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }

    /// A short text body, as Go's http.Error writes it.
    static func plain(_ status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: status.reasonPhrase + "\n")))
    }
}

/// exporter-toolkit's `rate_limit`: a token bucket of `burst` tokens, one added every
/// `interval`; a request without a token gets 429. Rebuilt full when the limit changes.
final class RateLimiter: Sendable {
    private struct State {
        var limit: WebConfig.RateLimit?
        var tokens: Double = 0
        var last = ContinuousClock.now
    }

    private let state = Mutex(State())

    /// Takes a token under `limit` (nil: no limit); false when none is left.
    func allow(_ limit: WebConfig.RateLimit?, now: ContinuousClock.Instant = .now) -> Bool {
        guard let limit else { return true }
        return state.withLock { state in
            if state.limit != limit {
                state = State(limit: limit, tokens: Double(limit.burst), last: now)
            }
            let elapsed = now - state.last
            state.last = now
            state.tokens = min(Double(limit.burst), state.tokens + elapsed / limit.interval)
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }
}

/// Requests the server refused before any route saw them, by reason, for the self metrics.
final class RefusedRequests: Sendable {
    enum Reason: String, CaseIterable, Sendable {
        /// The Host header is not in -web.allowed-hosts.
        case host
        /// Every bcrypt check slot was taken.
        case authBusy = "auth_busy"
        /// The source address had spent its failed basic-auth checks.
        case authThrottled = "auth_throttled"
    }

    private let counts = Mutex<[Reason: Int]>([:])

    func count(_ reason: Reason) {
        counts.withLock { $0[reason, default: 0] += 1 }
    }

    /// Refusals since start, every reason listed.
    var reading: [(reason: String, count: Int)] {
        let counts = self.counts.withLock { $0 }
        return Reason.allCases.map { ($0.rawValue, counts[$0] ?? 0) }
    }
}
