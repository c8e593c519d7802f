import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes
import NIOSSL
import NIOTLS
import NetAddress

/// The deadlines of one connection (pure: the times come in). A request head must be
/// complete `headTimeout` after the connection opens, or after the first byte of a next
/// request on a kept-alive connection; while a response is being sent, some of it must
/// reach the client every `writeTimeout`, and all of it within `responseTimeout` of the
/// request head, so a client reading a little now and then cannot hold a response (and
/// what it holds in memory) for as long as it likes. Between requests Hummingbird's idle
/// timeout watches the connection.
struct ConnectionDeadlines: Sendable, Equatable {
    enum Phase: Equatable {
        /// Waiting for a request head that must be complete by the deadline.
        case readingHead(deadline: ContinuousClock.Instant)
        /// Kept alive after a response, no byte of a next request yet.
        case idle
        /// A request head came; its response is not finished.
        case responding
    }

    let headTimeout: Duration
    let writeTimeout: Duration
    /// nil: a response may take as long as its client keeps reading.
    let responseTimeout: Duration?
    private(set) var phase: Phase
    private(set) var pendingWrites = 0
    private(set) var lastWriteProgress: ContinuousClock.Instant
    /// When the response in progress must have left whole: its last write completed, not
    /// only handed over (the server queues what the client has not read yet).
    private(set) var responseDeadline: ContinuousClock.Instant?

    init(headTimeout: Duration, writeTimeout: Duration, responseTimeout: Duration? = nil, openedAt now: ContinuousClock.Instant) {
        self.headTimeout = headTimeout
        self.writeTimeout = writeTimeout
        self.responseTimeout = responseTimeout
        self.phase = .readingHead(deadline: now + headTimeout)
        self.lastWriteProgress = now
    }

    mutating func bytesRead(at now: ContinuousClock.Instant) {
        if phase == .idle { phase = .readingHead(deadline: now + headTimeout) }
    }

    mutating func headReceived(at now: ContinuousClock.Instant) {
        phase = .responding
        responseDeadline = responseTimeout.map { now + $0 }
    }

    mutating func responseEnded() {
        phase = .idle
        if pendingWrites == 0 { responseDeadline = nil }
    }

    mutating func writeStarted(at now: ContinuousClock.Instant) {
        if pendingWrites == 0 { lastWriteProgress = now }
        pendingWrites += 1
    }

    mutating func writeCompleted(at now: ContinuousClock.Instant) {
        pendingWrites -= 1
        lastWriteProgress = now
        if pendingWrites == 0 && phase != .responding { responseDeadline = nil }
    }

    /// When the connection must next be looked at; nil when no deadline runs.
    var nextDeadline: ContinuousClock.Instant? {
        var deadlines: [ContinuousClock.Instant] = []
        if case .readingHead(let deadline) = phase { deadlines.append(deadline) }
        if let responseDeadline { deadlines.append(responseDeadline) }
        if pendingWrites > 0 { deadlines.append(lastWriteProgress + writeTimeout) }
        return deadlines.min()
    }

    /// Why the connection must be closed at `now`, if it must.
    func expired(at now: ContinuousClock.Instant) -> ConnectionRegistry.CloseReason? {
        if case .readingHead(let deadline) = phase, now >= deadline { return .headerTimeout }
        if let responseDeadline, now >= responseDeadline { return .responseTimeout }
        if pendingWrites > 0, now >= lastWriteProgress + writeTimeout { return .writeTimeout }
        return nil
    }
}

/// First in every connection's pipeline, below TLS: registers the connection for the cap,
/// sees every byte read and every write's completion, and closes the connection when a
/// deadline of ``ConnectionDeadlines`` passes.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let registry: ConnectionRegistry
    private let logger: Logger
    /// Subject alternative names a client certificate must have one of (TLS only).
    let clientAllowedSANs: [String]?
    private var deadlines: ConnectionDeadlines
    private var id: Int?
    private var timer: (at: ContinuousClock.Instant, task: Scheduled<Void>)?
    private var context: ChannelHandlerContext?

    init(registry: ConnectionRegistry, limits: ServerLimits, clientAllowedSANs: [String]?, logger: Logger) {
        self.registry = registry
        self.logger = logger
        self.clientAllowedSANs = clientAllowedSANs
        self.deadlines = ConnectionDeadlines(headTimeout: limits.readHeaderTimeout, writeTimeout: limits.idleTimeout,
                                             responseTimeout: limits.responseTimeout,
                                             openedAt: .now)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        id = registry.add(context.channel)
        schedule()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        self.context = nil
        if let id { registry.remove(id) }
        id = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        if let id { registry.remove(id) }
        id = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadlines.bytesRead(at: .now)
        schedule()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        deadlines.writeStarted(at: .now)
        schedule()
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.deadlines.writeCompleted(at: .now)
        }
        context.write(data, promise: written)
    }

    /// A request head was read (from the HTTP side of the pipeline).
    func headReceived() {
        deadlines.headReceived(at: .now)
        if let id { registry.setBusy(id, true) }
        schedule()
    }

    /// A response was written whole.
    func responseEnded() {
        deadlines.responseEnded()
        if let id { registry.setBusy(id, false) }
        schedule()
    }

    /// Arms the timer for the next deadline unless it is armed for an earlier one: a
    /// deadline that moved later is found when the timer fires, not rescheduled per write.
    private func schedule() {
        guard let context, let next = deadlines.nextDeadline else { return }
        if let timer, timer.at <= next { return }
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(in: .init(next - .now)) { [self] in
            self.timer = nil
            self.check()
        }
        timer = (next, task)
    }

    private func check() {
        guard let context else { return }
        if let reason = deadlines.expired(at: .now) {
            registry.count(reason)
            logger.debug("closing a connection: \(reason.rawValue)", metadata: ["remote": "\(context.remoteAddress.map { "\($0)" } ?? "")"])
            context.close(promise: nil)
            return
        }
        schedule()
    }
}

/// On the HTTP side of the pipeline: tells the connection guard when a request head
/// arrives and when its response ends, and closes a TLS connection whose client
/// certificate carries none of `client_allowed_sans`.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private weak var connectionGuard: ConnectionGuardHandler?
    private var sanChecked = false

    func handlerAdded(context: ChannelHandlerContext) {
        connectionGuard = try? context.pipeline.syncOperations.handler(type: ConnectionGuardHandler.self)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent, !clientCertificateAllowed(context) { return }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard clientCertificateAllowed(context) else { return }
        if case .head = unwrapInboundIn(data) { connectionGuard?.headReceived() }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { connectionGuard?.responseEnded() }
        context.write(data, promise: promise)
    }

    /// Checks the client certificate against client_allowed_sans once; closes on a miss.
    private func clientCertificateAllowed(_ context: ChannelHandlerContext) -> Bool {
        guard !sanChecked else { return true }
        guard let allowed = connectionGuard?.clientAllowedSANs, !allowed.isEmpty else {
            sanChecked = true
            return true
        }
        let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
        let names = tls?.peerCertificate.map(Self.subjectAlternativeNames) ?? []
        guard names.contains(where: allowed.contains) else {
            context.close(promise: nil)
            return false
        }
        sanChecked = true
        return true
    }

    /// The certificate's SANs as Go's x509 writes them: DNS names, e-mail addresses,
    /// IP addresses and URIs.
    static func subjectAlternativeNames(_ certificate: NIOSSLCertificate) -> [String] {
        certificate._subjectAlternativeNames().compactMap { name in
            let bytes = name.contents.withUnsafeBufferPointer { Array($0) }
            switch name.nameType {
            case .dnsName, .email, .uri: return String(decoding: bytes, as: UTF8.self)
            case .ipAddress: return IPAddress(bytes: bytes)?.description
            default: return nil
            }
        }
    }
}
