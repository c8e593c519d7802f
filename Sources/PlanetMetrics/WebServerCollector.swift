import Exposition
import Listener

/// The HTTP server's own health: connections open, accepted and closed by the server (by
/// reason: the cap, a timeout), requests refused before any route, and web config reloads.
/// The families are the listener's (`ListenerReading.render`), shared with the federator's.
public struct WebServerCollector: MetricsCollector {
    /// The server's state at one moment.
    public typealias Reading = ListenerReading

    public let name = "web"
    let read: @Sendable () -> Reading

    public init(read: @escaping @Sendable () -> Reading) { self.read = read }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        read().render(into: &writer)
    }
}
