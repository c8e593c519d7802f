import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Puts every route behind the web config, in exporter-toolkit's order: the rate limit
/// (429), then basic auth (401 with `WWW-Authenticate: Basic`), and the configured headers
/// on every response, refusals included. It wraps the whole responder, so a route added
/// anywhere, and a path that matches none, is covered alike.
struct WebConfigResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context: RequestContext {
    typealias Context = Inner.Context

    let inner: Inner
    /// nil without a web config file: every request goes straight through.
    let webConfig: WebConfigReloader?
    let authenticator = BasicAuthenticator()
    let limiter = RateLimiter()

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let webConfig else { return try await inner.respond(to: request, context: context) }
        let config = webConfig.current().config
        var response: Response
        if !limiter.allow(config.rateLimit) {
            response = Self.plain(.tooManyRequests)
        } else if config.users.isEmpty {
            response = try await respondInner(request, context)
        } else {
            var outcome = BasicAuthenticator.Outcome.denied
            if let header = request.headers[.authorization],
               let (user, password) = BasicAuthenticator.credentials(fromAuthorization: header) {
                outcome = await authenticator.authenticate(user: user, password: password, users: config.users)
            }
            switch outcome {
            case .allowed:
                response = try await respondInner(request, context)
            case .denied:
                response = Self.plain(.unauthorized)
                response.headers[.wwwAuthenticate] = "Basic"
            case .busy:
                response = Self.plain(.tooManyRequests)
            }
        }
        for header in config.headers {
            if let name = HTTPField.Name(header.name) { response.headers[name] = header.value }
        }
        return response
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
