import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import Synchronization

/// Hummingbird's HTTP/1.1 child channel with the connection guard in front and, when the
/// web config asks for it, Hummingbird's TLS channel in between. The TLS settings are
/// taken from the web config in force when a connection opens, so a renewed certificate
/// or changed client CA applies to the next connection without a restart.
struct GuardedHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http: HTTP1Channel
    let webConfig: WebConfigReloader?
    let registry: ConnectionRegistry
    let limits: ServerLimits
    /// The TLS channel of the last config seen, built once per config (a TLS context
    /// parses the certificate and key).
    private let tlsChannels = TLSChannelCache()

    init(responder: @escaping HTTPChannelHandler.Responder, webConfig: WebConfigReloader?, registry: ConnectionRegistry,
         limits: ServerLimits) {
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestPhaseHandler()],
            idleTimeout: TimeAmount(limits.idleTimeout),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderFieldBytes,
                                            maxHeaderListSize: limits.maxHeaderBytes,
                                            maxHeaderFieldCount: limits.maxHeaderFields))
        // Every request is answered knowing where it came from (see RequestSource).
        let located: HTTPChannelHandler.Responder = { request, writer, channel in
            // The writer cannot be copied: moved into the closure through an optional.
            var handed = Optional(writer)
            try await RequestSource.$address.withValue(channel.remoteAddress) {
                try await responder(request, handed.take()!, channel)
            }
        }
        self.http = HTTP1Channel(responder: located, configuration: configuration)
        self.webConfig = webConfig
        self.registry = registry
        self.limits = limits
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let loaded = webConfig?.current()
        return channel.eventLoop.makeCompletedFuture { () throws -> TLSChannel<HTTP1Channel>? in
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuardHandler(registry: registry, limits: limits,
                                       clientAllowedSANs: loaded?.config.tls?.clientAllowedSANs, logger: logger))
            guard let loaded, let tls = loaded.tls else { return nil }
            return try tlsChannel(for: loaded, tls)
        }.flatMap { tls in
            if let tls { return tls.setup(channel: channel, logger: logger) }
            return http.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }

    private func tlsChannel(for loaded: LoadedWebConfig, _ tls: TLSChannelConfiguration) throws -> TLSChannel<HTTP1Channel> {
        try tlsChannels.channel(for: loaded.identity) { try TLSChannel(http, configuration: tls) }
    }
}

/// The TLS channel built for the last config seen.
final class TLSChannelCache: Sendable {
    private let cached = Mutex<(config: LoadedWebConfig.Identity, channel: TLSChannel<HTTP1Channel>)?>(nil)

    func channel(for config: LoadedWebConfig.Identity,
                 make: () throws -> TLSChannel<HTTP1Channel>) throws -> TLSChannel<HTTP1Channel> {
        try cached.withLock { cached in
            if let cached, cached.config === config { return cached.channel }
            let channel = try make()
            cached = (config, channel)
            return channel
        }
    }
}

/// The address a request came from, for the responders that need it (the failed-check
/// budget of basic auth, the log line of a capture): Hummingbird's basic request context
/// does not carry it.
public enum RequestSource {
    @TaskLocal public static var address: SocketAddress?
}
