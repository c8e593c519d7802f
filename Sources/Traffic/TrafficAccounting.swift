import NetAddress
import PacketDecoding

/// Why bytes were not counted against a peer.
public enum UnattributedReason: Int, Sendable, CaseIterable {
    /// Both ends are local addresses (traffic inside the host or its local networks).
    case bothLocal = 0
    /// Neither end is local (seen in promiscuous mode or on a bridge).
    case neitherLocal = 1

    /// The `reason` label value.
    public var label: String { self == .bothLocal ? "both_local" : "neither_local" }
}

/// The counting rules of DESIGN.md applied to decoded packets: direction from the local
/// addresses, the service port from socket evidence, handshakes and the ephemeral range,
/// the local process from socket evidence, and the bounded series table.
///
/// Not thread-safe: the aggregator owns one and calls it under its lock.
public final class TrafficAccounting {
    public let table: TrafficTable
    public private(set) var unattributedBytes = [UInt64](repeating: 0, count: UnattributedReason.allCases.count)
    /// Bytes counted with a resolved local process, and without one.
    public private(set) var processAttributedBytes: UInt64 = 0
    public private(set) var processUnattributedBytes: UInt64 = 0
    /// Packets whose local TCP/UDP endpoint no socket in the evidence owns: a sign that
    /// the socket table is older than a new connection, so it is worth re-reading early.
    public private(set) var unknownLocalEndpointPackets: UInt64 = 0

    public var localAddresses: LocalAddresses
    public var ephemeralPorts: EphemeralPortRange
    /// The latest socket-table evidence; its process names are mapped onto stable ids
    /// so series keep their process across refreshes.
    public var sockets: SocketEvidence {
        didSet { processTranslation = sockets.processNames.map { processRegistry.id(for: $0) } }
    }
    /// Stable process ids used in TrafficKey.process.
    public private(set) var processRegistry = ProcessRegistry()
    private var processTranslation: [UInt32] = [0]

    private var serverEndpoints = ServerEndpointCache()
    private var fragmentPorts = FragmentPortCache()

    public init(maxSeries: Int, localAddresses: LocalAddresses, ephemeralPorts: EphemeralPortRange = .linuxDefault,
                sockets: SocketEvidence = SocketEvidence()) {
        self.table = TrafficTable(maxSeries: maxSeries)
        self.localAddresses = localAddresses
        self.ephemeralPorts = ephemeralPorts
        self.sockets = sockets
        self.processTranslation = sockets.processNames.map { processRegistry.id(for: $0) }
    }

    /// Counts one decoded packet.
    public func count(_ packet: PacketSummary) {
        let bytes = UInt64(packet.ipBytes)
        let sourceLocal = localAddresses.contains(packet.source)
        let destinationLocal = localAddresses.contains(packet.destination)
        if sourceLocal == destinationLocal {
            unattributedBytes[sourceLocal ? UnattributedReason.bothLocal.rawValue : UnattributedReason.neitherLocal.rawValue] &+= bytes
            return
        }
        let direction: Direction = sourceLocal ? .egress : .ingress
        let peer = sourceLocal ? packet.destination : packet.source
        let local = sourceLocal ? packet.source : packet.destination
        let proto = packet.ipProtocol

        var port: UInt16? = nil
        var localPort: UInt16? = nil
        if proto == 6 || proto == 17 {
            if packet.hasPorts {
                let lp = sourceLocal ? packet.sourcePort : packet.destinationPort
                let rp = sourceLocal ? packet.destinationPort : packet.sourcePort
                localPort = lp
                if proto == 6 { learnHandshake(packet) }
                let service = servicePort(proto: proto, local: local, localPort: lp, remote: peer, remotePort: rp)
                port = service
                if packet.isFragment {
                    fragmentPorts.insert(source: packet.source, destination: packet.destination,
                                         identification: packet.fragmentID, ipProtocol: proto, port: service)
                }
            } else if packet.isFragment && !packet.isFirstFragment {
                port = fragmentPorts.port(source: packet.source, destination: packet.destination,
                                          identification: packet.fragmentID, ipProtocol: proto)
            }
        }

        var process: UInt32 = 0
        if let localPort, !sockets.isEmpty {
            process = processTranslation[Int(sockets.process(ipProtocol: proto, localAddress: local, localPort: localPort))]
        }
        if process == 0 {
            processUnattributedBytes &+= bytes
            if localPort != nil { unknownLocalEndpointPackets &+= 1 }
        } else {
            processAttributedBytes &+= bytes
        }

        table.add(TrafficKey(peer: peer, direction: direction, ipProtocol: proto, port: port, process: process), bytes: bytes)
    }

    /// The service port of a TCP/UDP conversation, strongest evidence first.
    func servicePort(proto: UInt8, local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) -> UInt16 {
        if sockets.isListening(ipProtocol: proto, port: localPort) { return localPort }
        if serverEndpoints.contains(local, port: localPort, ipProtocol: proto) { return localPort }
        if serverEndpoints.contains(remote, port: remotePort, ipProtocol: proto) { return remotePort }
        let localEphemeral = ephemeralPorts.contains(localPort)
        let remoteEphemeral = ephemeralPorts.contains(remotePort)
        if localEphemeral != remoteEphemeral { return localEphemeral ? remotePort : localPort }
        return min(localPort, remotePort)
    }

    /// A SYN without ACK goes to the server; a SYN+ACK comes from it.
    private func learnHandshake(_ packet: PacketSummary) {
        let syn: UInt8 = 0x02, ack: UInt8 = 0x10
        let flags = packet.tcpFlags
        guard flags & syn != 0 else { return }
        if flags & ack == 0 {
            serverEndpoints.insert(packet.destination, port: packet.destinationPort, ipProtocol: 6)
        } else {
            serverEndpoints.insert(packet.source, port: packet.sourcePort, ipProtocol: 6)
        }
    }
}
