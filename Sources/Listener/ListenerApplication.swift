#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// The agent's HTTP application: the server, the responder and the services beside it,
/// run in one service group, as Hummingbird's `Application` runs them, but without its
/// date service, a timer that wakes the process every second to format the Date header
/// whether or not anyone asks. Here the request that first sees a new second formats it.
struct ListenerApplication<Responder: HTTPResponder>: ApplicationProtocol
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let server: HTTPServerBuilder
    let configuration: ApplicationConfiguration
    let services: [any Service]
    let logger: Logger

    func run() async throws {
        let responder = self.responder, logger = self.logger
        let serverName = configuration.serverName
        let dates = HTTPDateHeader()
        let serverConfiguration = ServerConfiguration(
            address: configuration.address, serverName: serverName, backlog: configuration.backlog,
            reuseAddress: configuration.reuseAddress, availableConnectionsDelegate: configuration.availableConnectionsDelegate)
        let server = try self.server.buildServer(configuration: serverConfiguration, eventLoopGroup: eventLoopGroup,
                                                 logger: logger) { request, writer, channel in
            let context = Responder.Context(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch let error as HTTPParserError {
                // The channel answers 400 and closes.
                throw error
            } catch {
                logger.debug("request failed: \(error)")
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = dates.now()
            if let serverName { response.headers[.server] = serverName }
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // A parse error while the response is being written must not make the
                // channel write a second response (its 400): end the connection instead.
                throw ResponseWriteFailed()
            }
        } onServerRunning: { channel in
            await onServerRunning(channel)
        }
        let group = ServiceGroup(configuration: .init(services: services + [server], logger: logger))
        try await group.run()
    }

    private struct ResponseWriteFailed: Error {}
}

/// The Date header of responses (RFC 9110's IMF-fixdate), formatted once per second
/// that sees a response.
final class HTTPDateHeader: Sendable {
    private let cached = Mutex<(second: Int, text: String)>((-1, ""))

    func now() -> String {
        let second = time(nil)
        return cached.withLock { cached in
            if cached.second != second { cached = (second, Self.format(second)) }
            return cached.text
        }
    }

    /// "Sun, 06 Nov 1994 08:49:37 GMT" for 784111777.
    static func format(_ seconds: Int) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + Int(parts.tm_year)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
