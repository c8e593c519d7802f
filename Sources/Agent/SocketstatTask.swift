import Diagnostics
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
    /// sees the host send from local endpoints the last reading did not know, so a new
    /// connection's bytes get their process without waiting a whole interval. The
    /// aggregator says so itself (once per reading): nothing wakes up to ask. Packets that
    /// only arrive at unknown endpoints (a scan or a flood of closed ports) do not ask.
    ///
    /// The readings are blocking file and netlink I/O, done on one thread of their own,
    /// pe-sockets, which sleeps on a semaphore between them: an idle agent's reading costs
    /// one wake-up of that thread and no Swift concurrency timers or hand-overs.
    public func run() async throws {
        let interval = self.interval, aggregator = self.aggregator
        await runOnOwnThread(named: "pe-sockets") { [self] alarm in
            // The one thread that needs them (Agent.prepare lowered them for the others).
            Privileges.raiseEffective(Privileges.socketTableOnly)
            var lastStart = DispatchTime.now()
            read()
            while true {
                alarm.rearm()
                aggregator?.notifyOnUnknownEndpoint { alarm.fire() }
                guard let early = alarm.sleep(until: lastStart.advanced(by: interval)) else { return }
                if early, !alarm.sleepIgnoringFires(until: lastStart.advanced(by: Self.earlyRefreshSpacing)) { return }
                lastStart = DispatchTime.now()
                read()
            }
        }
    }

    /// One reading on the calling thread, published.
    func read() {
        let clock = ContinuousClock()
        let start = clock.now
        // Packet time stamps are wall-clock microseconds too.
        let readAt = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        let result = Result { try reader.read() }
        publish(result, readAt: readAt, elapsed: clock.now - start)
    }

    private func publish(_ result: Result<SocketSnapshot, any Error>, readAt: UInt64, elapsed: Duration) {
        let host = HostIdentity.primaryAddress()
        switch result {
        case .success(let snapshot):
            latest.set(Reading(snapshot: snapshot, hostAddress: host, succeeded: true, duration: elapsed))
            // Built outside the aggregator's lock, which the packet path waits for: on a host
            // with many sockets that is most of a reading's work after the reading itself.
            // This thread alone sets the owners, so the previous ones cannot change meanwhile.
            let settled = aggregator.map { aggregator in
                let owners = EndpointOwners(snapshot, readAt: readAt, previous: aggregator.withAccounting { $0.endpoints })
                return aggregator.withAccounting { accounting in
                    accounting.endpoints = owners
                    return accounting.lastSettlement
                }
            }
            logger.debug("socket table read", metadata: [
                "sockets": "\(snapshot.sockets.count)", "duration": "\(elapsed)",
                "unowned": "\(snapshot.sockets.lazy.filter { $0.processName == nil && $0.entry.inode != 0 }.count)",
                "skipped_processes": "\(snapshot.skippedProcesses)",
                "owners": "\(snapshot.ownersRechecked ? "rechecked" : "scanned")",
                "held_series": "\(settled?.series ?? 0)",
                "held_unnamed_bytes": "\(settled?.unnamedBytes ?? 0)",
                "held_unnamed": "\(settled.map { Self.describe($0.unnamedEndpoints) } ?? "")",
            ])
        case .failure(let error):
            latest.update { $0.succeeded = false; $0.hostAddress = host }
            // Bytes held for this reading are counted now, under the processes known so far.
            aggregator?.withAccounting { $0.settlePending() }
            logger.error("socketstat: \(error); keeping the previous reading")
        }
    }
}

extension SocketstatTask {
    /// Endpoints as `tcp 10.0.0.1:40000,udp [2001:db8::1]:53`, for the debug log.
    static func describe(_ endpoints: [LocalEndpoint]) -> String {
        endpoints.map { endpoint in
            let address = endpoint.address.isIPv4 ? "\(endpoint.address)" : "[\(endpoint.address)]"
            return "\(TrafficKey.protocolLabel(endpoint.ipProtocol)) \(address):\(endpoint.port)"
        }.joined(separator: ",")
    }

    /// The dependencies of the latest reading (nil before the first) and whether the
    /// latest attempt succeeded; classified per scrape, off the reading thread.
    public func dependencies() -> (report: DependencyReport?, succeeded: Bool) {
        let reading = latest.get()
        // UDP ports that capture saw several peers send to are servers' ports too.
        let udpServerPorts = aggregator?.withAccounting { $0.udpServerPorts }
        return (reading.snapshot.map { DependencyReport(snapshot: $0, hostAddress: reading.hostAddress, udpServerPorts: udpServerPorts) },
                reading.succeeded)
    }
}

extension EndpointOwners {
    /// What the counting rules need from a socket-table reading taken at `readAt`
    /// (microseconds since 1970), with the reading before it.
    convenience init(_ snapshot: SocketSnapshot, readAt: UInt64 = 0, previous: EndpointOwners? = nil) {
        self.init(sockets: snapshot.sockets.lazy.map { socket in
            let entry = socket.entry
            let isServer = snapshot.isServer(entry)
            return EndpointOwners.Socket(
                ipProtocol: entry.protocol.rawValue, isListener: isServer,
                address: entry.localAddress, port: entry.localPort, processName: socket.processName,
                processUnit: socket.processUnit,
                isUnconnectedUDP: entry.protocol == .udp && entry.state == .listen && !isServer)
        }, readAt: readAt, previous: previous)
    }
}
