import NetAddress

/// The transport protocols whose sockets the module reads.
public enum TransportProtocol: UInt8, Sendable, Hashable, CaseIterable {
    case tcp = 6
    case udp = 17

    /// The name used in metric labels.
    public var label: String {
        switch self {
        case .tcp: "tcp"
        case .udp: "udp"
        }
    }
}

/// The socket states the dependency rules distinguish.
///
/// UDP has no connection state machine: an unconnected bound socket is reported as
/// `listen` (it receives from anyone) and a connected one as `established`.
public enum SocketState: UInt8, Sendable, Hashable {
    case listen
    case established
    case timeWait
    case other

    /// Maps the kernel's state number (`TCP_ESTABLISHED` = 1 ... `TCP_LISTEN` = 10).
    @inlinable
    public init(kernelState: UInt8, protocol proto: TransportProtocol) {
        switch (proto, kernelState) {
        case (_, 1): self = .established
        case (.tcp, 6): self = .timeWait
        case (.tcp, 10): self = .listen
        // The kernel reports unconnected UDP sockets as TCP_CLOSE.
        case (.udp, 7): self = .listen
        default: self = .other
        }
    }
}

/// One row of the kernel's socket table.
public struct SocketEntry: Sendable, Hashable {
    public var `protocol`: TransportProtocol
    public var state: SocketState
    /// IPv4 (and IPv4-mapped IPv6) addresses are held as IPv4.
    public var localAddress: IPAddress
    public var localPort: UInt16
    public var remoteAddress: IPAddress
    public var remotePort: UInt16
    /// 0 when no file refers to the socket (TIME_WAIT, orphaned).
    public var inode: UInt64
    public var uid: UInt32

    /// A socket entry from its fields.
    public init(
        protocol proto: TransportProtocol, state: SocketState,
        localAddress: IPAddress, localPort: UInt16,
        remoteAddress: IPAddress, remotePort: UInt16,
        inode: UInt64, uid: UInt32
    ) {
        self.protocol = proto
        self.state = state
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.inode = inode
        self.uid = uid
    }
}

/// A socket table input that could not be understood.
public struct SocketTableError: Error, CustomStringConvertible, Sendable {
    public var description: String

    /// An error with a one-line message.
    public init(_ description: String) {
        self.description = description
    }
}
