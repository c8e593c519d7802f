import NetAddress

/// What the socket table says, shaped for the packet path: which local ports are
/// listening, and which local process owns a local endpoint.
///
/// Built from a socket-table snapshot every task interval and handed to the aggregator
/// whole; the packet path only reads it.
public struct SocketEvidence: Sendable {
    /// A local endpoint: address, port and IP protocol.
    public struct Endpoint: Hashable, Sendable {
        public var address: IPAddress
        public var port: UInt16
        public var ipProtocol: UInt8

        public init(address: IPAddress, port: UInt16, ipProtocol: UInt8) {
            self.address = address
            self.port = port
            self.ipProtocol = ipProtocol
        }
    }

    public private(set) var listeningTCP = PortSet()
    public private(set) var listeningUDP = PortSet()
    /// Interned process names; id 0 is the unknown process "".
    public private(set) var processNames: [String] = [""]
    private var exact: [Endpoint: UInt32] = [:]
    private var wildcard: [UInt32: UInt32] = [:]  // protocol << 16 | port

    public init() {}

    /// True when nothing is known (the packet path then skips the lookups); stored, since
    /// the packet path asks for every packet.
    public private(set) var isEmpty = true

    /// Records a listening socket (TCP LISTEN, or a bound unconnected UDP socket).
    /// An unspecified address (0.0.0.0, ::) listens on every local address.
    public mutating func addListener(_ endpoint: Endpoint, process: String?) {
        isEmpty = false
        if endpoint.ipProtocol == 6 { listeningTCP.insert(endpoint.port) } else { listeningUDP.insert(endpoint.port) }
        guard let process, !process.isEmpty else { return }
        let id = intern(process)
        if endpoint.address.isUnspecified {
            wildcard[UInt32(endpoint.ipProtocol) << 16 | UInt32(endpoint.port)] = id
        } else {
            exact[endpoint] = id
        }
    }

    /// Records a connected socket's local endpoint and owner.
    public mutating func addConnection(_ endpoint: Endpoint, process: String?) {
        guard let process, !process.isEmpty else { return }
        isEmpty = false
        if exact[endpoint] == nil { exact[endpoint] = intern(process) }
    }

    @inlinable
    public func isListening(ipProtocol: UInt8, port: UInt16) -> Bool {
        ipProtocol == 6 ? listeningTCP.contains(port) : (ipProtocol == 17 ? listeningUDP.contains(port) : false)
    }

    /// The process id owning a local endpoint (0 when unknown).
    public func process(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> UInt32 {
        if let id = exact[Endpoint(address: localAddress, port: localPort, ipProtocol: ipProtocol)] { return id }
        return wildcard[UInt32(ipProtocol) << 16 | UInt32(localPort)] ?? 0
    }

    private mutating func intern(_ name: String) -> UInt32 {
        if let index = processNames.firstIndex(of: name) { return UInt32(index) }
        processNames.append(name)
        return UInt32(processNames.count - 1)
    }
}

/// Process names interned to stable small ids for the lifetime of the agent.
///
/// Bounded: past `limit` distinct names, new names map to 0 (unknown) rather than grow
/// memory without end. Process names (comm) are few on a real host.
public struct ProcessRegistry: Sendable {
    public private(set) var names: [String] = [""]
    private var ids: [String: UInt32] = ["": 0]
    public let limit: Int

    public init(limit: Int = 4096) { self.limit = limit }

    /// The id of `name`, registering it if new and there is room.
    public mutating func id(for name: String) -> UInt32 {
        if let id = ids[name] { return id }
        guard names.count < limit else { return 0 }
        names.append(name)
        let id = UInt32(names.count - 1)
        ids[name] = id
        return id
    }

    /// The id of an already registered name.
    public func existingID(_ name: String) -> UInt32? { ids[name] }

    /// The name of an id ("" for unknown or out of range).
    public func name(_ id: UInt32) -> String {
        Int(id) < names.count ? names[Int(id)] : ""
    }
}
