import NetAddress

/// What the counting rules need from the socket table: which local ports listen, and
/// which process owns a local endpoint.
///
/// The agent fills one from each socket-table reading. Immutable once built, so the
/// aggregator reads it from its own thread without locks; the endpoint lookups answer
/// with an index into `processes`, so the packet path maps processes to its own ids once
/// per reading instead of hashing a name per packet.
public final class EndpointOwners: Sendable {
    /// One local socket as the counting rules see it.
    public struct Socket: Sendable {
        /// 6 (TCP) or 17 (UDP).
        public var ipProtocol: UInt8
        /// A listening TCP socket, or a UDP socket that serves a port.
        public var isListener: Bool
        public var address: IPAddress
        public var port: UInt16
        /// nil when no process holds the socket or its owner could not be read.
        public var processName: String?
        /// The owner's systemd unit or container; nil or "" when none is known.
        public var processUnit: String?
        /// A bound, unconnected UDP socket that is not a listener by the socket table's
        /// rule (an ephemeral port): a `sendto` client, or a server that traffic can reveal.
        public var isUnconnectedUDP: Bool

        public init(ipProtocol: UInt8, isListener: Bool, address: IPAddress, port: UInt16, processName: String?,
                    processUnit: String? = nil, isUnconnectedUDP: Bool = false) {
            self.ipProtocol = ipProtocol
            self.isListener = isListener
            self.address = address
            self.port = port
            self.processName = processName
            self.processUnit = processUnit
            self.isUnconnectedUDP = isUnconnectedUDP
        }
    }

    /// Ports with a listening TCP socket.
    public let tcpListening: PortSet
    /// Ports served by a UDP socket.
    public let udpListening: PortSet
    /// Ports of unconnected UDP sockets that are not listeners: a port here becomes a
    /// service port when more than one peer sends to it (`TrafficAccounting`).
    public let udpUnconnected: PortSet
    /// The distinct processes (name and unit); index 0 is "no process".
    public let processes: [ProcessIdentity]

    private let byEndpoint: [LocalEndpoint: Int32]
    private let byPort: [LocalEndpoint: Int32]

    /// Owners of `sockets`. Listeners claim an endpoint before the connections accepted
    /// on it; the first socket named for an endpoint wins.
    public init(sockets: some Sequence<Socket>) {
        var tcp = PortSet()
        var udp = PortSet()
        var unconnected = PortSet()
        var processes = [ProcessIdentity(name: "")]
        var processIndex: [ProcessIdentity: Int32] = [:]
        func index(_ name: String, _ socket: Socket) -> Int32 {
            let process = ProcessIdentity(name: name, unit: socket.processUnit ?? "")
            if let known = processIndex[process] { return known }
            processes.append(process)
            processIndex[process] = Int32(processes.count - 1)
            return Int32(processes.count - 1)
        }
        var byEndpoint: [LocalEndpoint: Int32] = [:]
        var byPort: [LocalEndpoint: Int32] = [:]
        var connected: [Socket] = []
        for socket in sockets {
            guard socket.isListener else {
                if socket.ipProtocol == 17 && socket.isUnconnectedUDP { unconnected.insert(socket.port) }
                connected.append(socket)
                continue
            }
            if socket.ipProtocol == 6 { tcp.insert(socket.port) } else { udp.insert(socket.port) }
            if let name = socket.processName {
                let key = LocalEndpoint(socket.ipProtocol, socket.address, socket.port)
                if byEndpoint[key] == nil { byEndpoint[key] = index(name, socket) }
            }
        }
        for socket in connected {
            guard let name = socket.processName else { continue }
            let key = LocalEndpoint(socket.ipProtocol, socket.address, socket.port)
            if byEndpoint[key] == nil { byEndpoint[key] = index(name, socket) }
            let portKey = LocalEndpoint(socket.ipProtocol, .zero, socket.port)
            if byPort[portKey] == nil { byPort[portKey] = index(name, socket) }
        }
        tcpListening = tcp
        udpListening = udp
        udpUnconnected = unconnected
        self.processes = processes
        self.byEndpoint = byEndpoint
        self.byPort = byPort
    }

    /// True if a TCP socket listens on `port`, or a UDP socket serves it.
    @inlinable
    public func isListening(ipProtocol: UInt8, port: UInt16) -> Bool {
        ipProtocol == 6 ? tcpListening.contains(port) : ipProtocol == 17 && udpListening.contains(port)
    }

    /// The index in `processes` of the process that owns a local endpoint: a socket
    /// bound to exactly that address, else a wildcard socket on the port, else any
    /// connected socket with that local port; 0 when none does.
    public func processIndex(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> Int32 {
        localAddress.firstBound { byEndpoint[LocalEndpoint(ipProtocol, $0, localPort)] }
            ?? byPort[LocalEndpoint(ipProtocol, .zero, localPort)] ?? 0
    }

    /// The process that owns a local endpoint, if any.
    public func process(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> ProcessIdentity? {
        let index = processIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        return index == 0 ? nil : processes[Int(index)]
    }

    /// The name of the process that owns a local endpoint, if any.
    public func processName(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> String? {
        process(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)?.name
    }
}
