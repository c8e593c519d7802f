import NetAddress

/// A socket and the name (and unit) of the process that owns it.
public struct OwnedSocket: Sendable, Hashable {
    public var entry: SocketEntry
    /// nil when no process holds the socket (TIME_WAIT) or its owner could not be read.
    public var processName: String?
    /// The owner's systemd unit or container: "" when it has none, nil when units are
    /// not read or there is no owner.
    public var processUnit: String?

    /// A socket with its owner's name and unit.
    public init(entry: SocketEntry, processName: String?, processUnit: String? = nil) {
        self.entry = entry
        self.processName = processName
        self.processUnit = processUnit
    }
}

/// One immutable reading of the socket table with process names.
///
/// Built once per task interval and then shared: every property is a constant.
public final class SocketSnapshot: Sendable {
    /// Every socket read, in the kernel's order.
    public let sockets: [OwnedSocket]
    /// Ports with a listening TCP socket.
    public let tcpListening: PortSet
    /// Ports served by UDP: a bound, unconnected UDP socket on a port outside the
    /// ephemeral range (see `isUDPServer`).
    public let udpListening: PortSet
    /// Ports of bound, unconnected UDP sockets inside the ephemeral range: clients that
    /// send with `sendto` unless traffic shows several peers sending to the port.
    public let udpUnconnectedEphemeral: PortSet
    /// The kernel's ephemeral port range when the snapshot was read.
    public let ephemeralPorts: EphemeralPortRange
    /// Processes skipped because they exited or could not be read during the scan.
    public let skippedProcesses: Int
    /// Descriptors skipped because their link could not be read.
    public let skippedDescriptors: Int
    /// True when the owners were those of an earlier reading, re-checked descriptor by
    /// descriptor, rather than found by scanning every process.
    public let ownersRechecked: Bool
    /// Units worked out again at each reading because the resolver's cache was full
    /// (`ProcessUnitResolver.uncached`, since the agent started).
    public let processUnitsUncached: UInt64

    /// Listener owners (name and unit) by endpoint; the first listener named for an endpoint wins.
    private let listeners: [LocalEndpoint: (name: String, unit: String?)]

    /// A snapshot of `sockets`, with the skip counts of the scan that named them and the
    /// ephemeral port range that tells UDP clients from servers.
    public init(sockets: [OwnedSocket], processUnitsUncached: UInt64 = 0, skippedProcesses: Int = 0,
                skippedDescriptors: Int = 0, ownersRechecked: Bool = false, ephemeralPorts: EphemeralPortRange = .linuxDefault) {
        self.sockets = sockets
        self.ownersRechecked = ownersRechecked
        self.processUnitsUncached = processUnitsUncached
        self.skippedProcesses = skippedProcesses
        self.skippedDescriptors = skippedDescriptors
        self.ephemeralPorts = ephemeralPorts
        var tcp = PortSet()
        var udp = PortSet()
        var udpEphemeral = PortSet()
        var listeners: [LocalEndpoint: (name: String, unit: String?)] = [:]
        for socket in sockets where socket.entry.state == .listen {
            let entry = socket.entry
            switch entry.protocol {
            case .tcp: tcp.insert(entry.localPort)
            case .udp:
                if ephemeralPorts.contains(entry.localPort) {
                    udpEphemeral.insert(entry.localPort)
                } else {
                    udp.insert(entry.localPort)
                }
            }
            if let name = socket.processName {
                let key = LocalEndpoint(entry.protocol.rawValue, entry.localAddress, entry.localPort)
                if listeners[key] == nil { listeners[key] = (name, socket.processUnit) }
            }
        }
        tcpListening = tcp
        udpListening = udp
        udpUnconnectedEphemeral = udpEphemeral
        self.listeners = listeners
    }

    /// True when a socket serves its port: a listening TCP socket, or a bound unconnected
    /// UDP socket on a port outside the ephemeral range or on a port of
    /// `udpServerPorts` (ports that traffic showed several peers sending to). An
    /// unconnected UDP socket on an ephemeral port is a client sending with `sendto`.
    public func isServer(_ entry: SocketEntry, udpServerPorts: PortSet? = nil) -> Bool {
        guard entry.state == .listen else { return false }
        switch entry.protocol {
        case .tcp: return true
        case .udp: return !ephemeralPorts.contains(entry.localPort) || udpServerPorts?.contains(entry.localPort) == true
        }
    }

    /// The listening ports of one protocol.
    public func listeningPorts(_ proto: TransportProtocol) -> PortSet {
        switch proto {
        case .tcp: tcpListening
        case .udp: udpListening
        }
    }

    /// True if a socket listens on `port` (TCP) or serves it (UDP, see `isServer`).
    @inlinable
    public func isListening(_ proto: TransportProtocol, _ port: UInt16) -> Bool {
        switch proto {
        case .tcp: tcpListening.contains(port)
        case .udp: udpListening.contains(port)
        }
    }

    /// The process (name and unit) of the listener that a connection on
    /// `localAddress:localPort` was accepted from: exact address first, then a wildcard listener.
    func listener(protocol proto: TransportProtocol, localAddress: IPAddress, localPort: UInt16) -> (name: String, unit: String?)? {
        localAddress.firstBound { listeners[LocalEndpoint(proto.rawValue, $0, localPort)] }
    }
}
