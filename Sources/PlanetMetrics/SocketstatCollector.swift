import Exposition
import Sockets

/// planet_upstream, planet_downstream and planet_server_process from the latest
/// socket-table reading.
public struct SocketstatCollector: MetricsCollector {
    public let name = "socketstat"
    let read: @Sendable () -> (report: DependencyReport?, succeeded: Bool)
    let enrichment: @Sendable () -> Enrichment

    /// `read` gives the dependencies of the latest reading (nil before the first) and
    /// whether the latest attempt succeeded.
    public init(enrichment: @escaping @Sendable () -> Enrichment,
                read: @escaping @Sendable () -> (report: DependencyReport?, succeeded: Bool)) {
        self.read = read
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let reading = read()
        guard let report = reading.report else { return false }
        DependencyMetrics.render(report, into: &writer, labels: enrichment().lookup)
        return reading.succeeded
    }
}
