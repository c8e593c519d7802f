import NetAddress

/// One dependency of this host: a peer, the service port between them and the local process.
public struct DependencyEdge: Hashable, Sendable, Comparable {
    /// The local end; a loopback address is replaced by the host's primary address.
    public var localAddress: IPAddress
    public var remoteAddress: IPAddress
    /// The service port: local for a downstream, remote for an upstream.
    public var port: UInt16
    public var `protocol`: TransportProtocol
    /// "" when no process could be found.
    public var processName: String
    /// The process's systemd unit or container; "" when none is known.
    public var processUnit: String

    /// An edge from its fields.
    public init(localAddress: IPAddress, remoteAddress: IPAddress, port: UInt16, protocol proto: TransportProtocol, processName: String,
                processUnit: String = "") {
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.port = port
        self.protocol = proto
        self.processName = processName
        self.processUnit = processUnit
    }

    public static func < (lhs: DependencyEdge, rhs: DependencyEdge) -> Bool {
        if lhs.protocol != rhs.protocol { return lhs.protocol.rawValue < rhs.protocol.rawValue }
        if lhs.port != rhs.port { return lhs.port < rhs.port }
        if lhs.processName != rhs.processName { return lhs.processName < rhs.processName }
        if lhs.processUnit != rhs.processUnit { return lhs.processUnit < rhs.processUnit }
        if lhs.remoteAddress != rhs.remoteAddress { return lhs.remoteAddress < rhs.remoteAddress }
        return lhs.localAddress < rhs.localAddress
    }
}

/// A process that listens (TCP) or serves a port (UDP, see `SocketSnapshot.isServer`) on
/// a local address.
public struct ServerProcess: Hashable, Sendable, Comparable {
    /// The bound address.
    public var address: IPAddress
    public var port: UInt16
    /// "" when no process could be found.
    public var processName: String
    /// The process's systemd unit or container; "" when none is known.
    public var processUnit: String

    /// A server process from its fields.
    public init(address: IPAddress, port: UInt16, processName: String, processUnit: String = "") {
        self.address = address
        self.port = port
        self.processName = processName
        self.processUnit = processUnit
    }

    /// `ADDR:PORT` as the Go original writes it, without brackets: "0.0.0.0:22", ":::25".
    public var bind: String { "\(address):\(port)" }

    public static func < (lhs: ServerProcess, rhs: ServerProcess) -> Bool {
        if lhs.address.isIPv4 != rhs.address.isIPv4 { return lhs.address.isIPv4 }
        if lhs.address != rhs.address { return lhs.address < rhs.address }
        if lhs.port != rhs.port { return lhs.port < rhs.port }
        if lhs.processName != rhs.processName { return lhs.processName < rhs.processName }
        return lhs.processUnit < rhs.processUnit
    }
}

/// The upstream and downstream dependencies and server processes of one socket snapshot.
///
/// A connection (established or TIME_WAIT) whose local port is a listening port of its
/// protocol is a downstream, keyed by the local port, and takes the listener's process
/// when it has none of its own; any other is an upstream, keyed by the remote port.
/// Upstreams to a loopback address are skipped. Duplicates collapse to one edge. An
/// unconnected UDP socket is a server only by the rule of `SocketSnapshot.isServer`.
/// A port this host serves, on any of its addresses: what the Services view lists.
public struct LocalService: Hashable, Sendable, Comparable {
    public var `protocol`: TransportProtocol
    public var port: UInt16
    /// "" when no process could be found.
    public var processName: String
    /// The process's systemd unit or container; "" when none is known.
    public var processUnit: String

    /// A service from its fields.
    public init(protocol proto: TransportProtocol, port: UInt16, processName: String, processUnit: String = "") {
        self.protocol = proto
        self.port = port
        self.processName = processName
        self.processUnit = processUnit
    }

    public static func < (lhs: LocalService, rhs: LocalService) -> Bool {
        (lhs.port, lhs.protocol.rawValue, lhs.processName, lhs.processUnit) < (rhs.port, rhs.protocol.rawValue, rhs.processName, rhs.processUnit)
    }
}

public struct DependencyReport: Sendable {
    /// The address that replaces a loopback local address.
    public let hostAddress: IPAddress
    public let upstreams: [DependencyEdge]
    public let downstreams: [DependencyEdge]
    public let servers: [ServerProcess]
    /// The ports served, by protocol and process, whatever address they are bound to.
    public let services: [LocalService]
    /// Units worked out again because the unit cache was full (`SocketSnapshot.processUnitsUncached`).
    public let processUnitsUncached: UInt64

    /// Classifies the sockets of `snapshot`, sorted for stable output. `udpServerPorts`
    /// are UDP ports that traffic showed several peers sending to (from capture).
    public init(snapshot: SocketSnapshot, hostAddress: IPAddress, udpServerPorts: PortSet? = nil) {
        self.hostAddress = hostAddress
        self.processUnitsUncached = snapshot.processUnitsUncached
        var upstreams = Set<DependencyEdge>()
        var downstreams = Set<DependencyEdge>()
        var servers = Set<ServerProcess>()
        var services = Set<LocalService>()
        for socket in snapshot.sockets {
            let entry = socket.entry
            switch entry.state {
            case .listen:
                guard snapshot.isServer(entry, udpServerPorts: udpServerPorts) else { continue }
                servers.insert(ServerProcess(address: entry.localAddress, port: entry.localPort, processName: socket.processName ?? "",
                                             processUnit: socket.processUnit ?? ""))
                services.insert(LocalService(protocol: entry.protocol, port: entry.localPort, processName: socket.processName ?? "",
                                             processUnit: socket.processUnit ?? ""))
            case .established, .timeWait:
                let local = entry.localAddress.isLoopback ? hostAddress : entry.localAddress
                if snapshot.isListening(entry.protocol, entry.localPort)
                    || (entry.protocol == .udp && udpServerPorts?.contains(entry.localPort) == true) {
                    let owner = socket.processName.map { ($0, socket.processUnit) }
                        ?? snapshot.listener(protocol: entry.protocol, localAddress: entry.localAddress, localPort: entry.localPort)
                    downstreams.insert(DependencyEdge(
                        localAddress: local, remoteAddress: entry.remoteAddress, port: entry.localPort,
                        protocol: entry.protocol, processName: owner?.0 ?? "", processUnit: owner?.1 ?? ""))
                } else if !entry.remoteAddress.isLoopback {
                    upstreams.insert(DependencyEdge(
                        localAddress: local, remoteAddress: entry.remoteAddress, port: entry.remotePort,
                        protocol: entry.protocol, processName: socket.processName ?? "", processUnit: socket.processUnit ?? ""))
                }
            case .other:
                continue
            }
        }
        self.upstreams = upstreams.sorted()
        self.downstreams = downstreams.sorted()
        self.servers = servers.sorted()
        self.services = services.sorted()
    }
}
