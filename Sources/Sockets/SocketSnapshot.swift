import Atomics
import NetAddress

/// A socket and the name of the process that owns it.
public struct OwnedSocket: Sendable, Hashable {
    public var entry: SocketEntry
    /// nil when no process holds the socket (TIME_WAIT) or its owner could not be read.
    public var processName: String?

    /// A socket with its owner's name.
    public init(entry: SocketEntry, processName: String?) {
        self.entry = entry
        self.processName = processName
    }
}

/// One immutable reading of the socket table with process names.
///
/// Built once per task interval and then shared: every property is a constant, so the
/// traffic aggregator can query it from its own thread without locks.
public final class SocketSnapshot: Sendable {
    /// Every socket read, in the kernel's order.
    public let sockets: [OwnedSocket]
    /// Ports with a listening TCP socket.
    public let tcpListening: PortSet
    /// Ports with a bound, unconnected UDP socket.
    public let udpListening: PortSet
    /// Processes skipped because they exited or could not be read during the scan.
    public let skippedProcesses: Int
    /// Descriptors skipped because their link could not be read.
    public let skippedDescriptors: Int

    /// The distinct process names of the snapshot; index 0 is "no process". The
    /// endpoint lookups answer with an index here, so the packet path can map names to
    /// its own ids once per snapshot instead of hashing a name per packet.
    public let processNames: [String]

    private let listeners: [EndpointKey: Int32]
    private let byEndpoint: [EndpointKey: Int32]
    private let byPort: [EndpointKey: Int32]

    /// A snapshot of `sockets`, with the skip counts of the scan that named them.
    public init(sockets: [OwnedSocket], skippedProcesses: Int = 0, skippedDescriptors: Int = 0) {
        self.sockets = sockets
        self.skippedProcesses = skippedProcesses
        self.skippedDescriptors = skippedDescriptors
        var tcp = PortSet()
        var udp = PortSet()
        var names = [""]
        var nameIndex: [String: Int32] = [:]
        func index(_ name: String) -> Int32 {
            if let known = nameIndex[name] { return known }
            names.append(name)
            nameIndex[name] = Int32(names.count - 1)
            return Int32(names.count - 1)
        }
        var byEndpoint: [EndpointKey: Int32] = [:]
        var byPort: [EndpointKey: Int32] = [:]
        // Listeners claim an endpoint before the connections accepted on it.
        for socket in sockets where socket.entry.state == .listen {
            let entry = socket.entry
            switch entry.protocol {
            case .tcp: tcp.insert(entry.localPort)
            case .udp: udp.insert(entry.localPort)
            }
            if let name = socket.processName {
                let key = EndpointKey(entry.protocol, entry.localAddress, entry.localPort)
                if byEndpoint[key] == nil { byEndpoint[key] = index(name) }
            }
        }
        let listeners = byEndpoint
        for socket in sockets where socket.entry.state != .listen {
            guard let name = socket.processName else { continue }
            let entry = socket.entry
            let key = EndpointKey(entry.protocol, entry.localAddress, entry.localPort)
            if byEndpoint[key] == nil { byEndpoint[key] = index(name) }
            let portKey = EndpointKey(entry.protocol, .zero, entry.localPort)
            if byPort[portKey] == nil { byPort[portKey] = index(name) }
        }
        tcpListening = tcp
        udpListening = udp
        processNames = names
        self.listeners = listeners
        self.byEndpoint = byEndpoint
        self.byPort = byPort
    }

    /// The listening ports of one protocol.
    public func listeningPorts(_ proto: TransportProtocol) -> PortSet {
        switch proto {
        case .tcp: tcpListening
        case .udp: udpListening
        }
    }

    /// True if a socket listens on `port` (TCP) or is bound unconnected to it (UDP).
    @inlinable
    public func isListening(_ proto: TransportProtocol, _ port: UInt16) -> Bool {
        switch proto {
        case .tcp: tcpListening.contains(port)
        case .udp: udpListening.contains(port)
        }
    }

    /// The process that owns a local endpoint: a socket bound to exactly that address,
    /// else a wildcard (0.0.0.0 or ::) listener on the port, else any connected socket
    /// with that local port.
    public func processName(protocol proto: TransportProtocol, localAddress: IPAddress, localPort: UInt16) -> String? {
        let index = processIndex(protocol: proto, localAddress: localAddress, localPort: localPort)
        return index == 0 ? nil : processNames[Int(index)]
    }

    /// `processName` as an index into `processNames` (0 when no process owns it).
    public func processIndex(protocol proto: TransportProtocol, localAddress: IPAddress, localPort: UInt16) -> Int32 {
        if let index = byEndpoint[EndpointKey(proto, localAddress, localPort)] { return index }
        // An IPv6 wildcard socket also accepts IPv4 unless it is IPV6_V6ONLY.
        if localAddress.isIPv4, let index = byEndpoint[EndpointKey(proto, IPAddress(ipv4: 0), localPort)] { return index }
        if let index = byEndpoint[EndpointKey(proto, .zero, localPort)] { return index }
        return byPort[EndpointKey(proto, .zero, localPort)] ?? 0
    }

    /// The process of the listener that a connection on `localAddress:localPort` was
    /// accepted from: exact address first, then a wildcard listener.
    func listenerName(protocol proto: TransportProtocol, localAddress: IPAddress, localPort: UInt16) -> String? {
        let index = listeners[EndpointKey(proto, localAddress, localPort)]
            ?? (localAddress.isIPv4 ? listeners[EndpointKey(proto, IPAddress(ipv4: 0), localPort)] : nil)
            ?? listeners[EndpointKey(proto, .zero, localPort)]
        return index.map { processNames[Int($0)] }
    }
}

/// Lets the socket task publish each snapshot through a `ManagedAtomic<SocketSnapshot>`
/// that the traffic aggregator loads without locks.
extension SocketSnapshot: AtomicReference {}

struct EndpointKey: Hashable, Sendable {
    var address: IPAddress
    var port: UInt16
    var proto: TransportProtocol

    init(_ proto: TransportProtocol, _ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
        self.proto = proto
    }
}
