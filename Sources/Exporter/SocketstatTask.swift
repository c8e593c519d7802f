import AsyncAlgorithms
import Exposition
import Foundation
import Logging
import NetAddress
import ServiceLifecycle
import Sockets
import Traffic

/// Reads the socket table with process names every task interval, publishes it for the
/// dependency metrics, and hands the traffic aggregator its evidence (listening ports and
/// the processes owning local endpoints).
public final class SocketstatTask: Service, Sendable {
    /// The latest reading and whether it succeeded.
    public struct Reading: Sendable {
        public var snapshot: SocketSnapshot?
        public var hostAddress: IPAddress
        public var succeeded: Bool
        public var duration: Duration
    }

    public let latest: Latest<Reading>
    private let reader: SocketTableReader
    private let interval: Duration
    private let aggregator: TrafficAggregator?
    private let logger: Logger

    public init(reader: SocketTableReader = SocketTableReader(), interval: Duration, aggregator: TrafficAggregator?, logger: Logger) {
        self.reader = reader
        self.interval = interval
        self.aggregator = aggregator
        self.logger = logger
        self.latest = Latest(Reading(snapshot: nil, hostAddress: HostIdentity.primaryAddress(), succeeded: false, duration: .zero))
    }

    /// Shortest time between two readings when new local endpoints ask for an early one.
    static let earlyRefreshSpacing: Duration = .seconds(1)

    /// Reads every task interval, and sooner (at most once a second) when the aggregator
    /// sees traffic on local endpoints the last reading did not know, so a new
    /// connection's bytes get their process without waiting a whole interval.
    public func run() async throws {
        await refresh()
        let clock = ContinuousClock()
        var last = clock.now
        var unknownSeen = unknownEndpointPackets()
        let tick = min(interval, .milliseconds(250))
        for try await _ in AsyncTimerSequence(interval: tick, clock: .continuous).cancelOnGracefulShutdown() {
            let unknown = unknownEndpointPackets()
            let elapsed = clock.now - last
            if elapsed >= interval || (unknown != unknownSeen && elapsed >= Self.earlyRefreshSpacing) {
                await refresh()
                last = clock.now
                unknownSeen = unknownEndpointPackets()
            }
        }
    }

    private func unknownEndpointPackets() -> UInt64 {
        aggregator?.withAccounting { $0.unknownLocalEndpointPackets } ?? 0
    }

    /// One reading, done off the cooperative pool since it is blocking file and netlink I/O.
    public func refresh() async {
        let reader = self.reader
        let clock = ContinuousClock()
        let start = clock.now
        let result: Result<SocketSnapshot, any Error> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { try reader.read() })
            }
        }
        let elapsed = clock.now - start
        let host = HostIdentity.primaryAddress()
        switch result {
        case .success(let snapshot):
            latest.set(Reading(snapshot: snapshot, hostAddress: host, succeeded: true, duration: elapsed))
            aggregator?.withAccounting { $0.sockets = snapshot }
            logger.debug("socket table read", metadata: ["sockets": "\(snapshot.sockets.count)", "duration": "\(elapsed)"])
        case .failure(let error):
            latest.update { $0.succeeded = false; $0.hostAddress = host }
            // Bytes held for this reading are counted now, under the processes known so far.
            aggregator?.withAccounting { $0.settlePending() }
            logger.error("socketstat: \(error); keeping the previous reading")
        }
    }
}

/// planet_upstream, planet_downstream and planet_server_process.
public struct SocketstatCollector: MetricsCollector {
    public let name = "socketstat"
    let task: SocketstatTask
    let enrichment: @Sendable () -> Enrichment

    public init(task: SocketstatTask, enrichment: @escaping @Sendable () -> Enrichment) {
        self.task = task
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let reading = task.latest.get()
        guard let snapshot = reading.snapshot else { return false }
        let report = DependencyReport(snapshot: snapshot, hostAddress: reading.hostAddress)
        let lookup = enrichment().lookup
        DependencyMetrics.render(report, into: &writer, labels: { lookup($0) })
        return reading.succeeded
    }
}
