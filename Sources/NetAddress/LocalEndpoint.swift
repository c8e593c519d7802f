/// A local socket address: protocol, address and port, as the socket-table lookups key it.
public struct LocalEndpoint: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16
    /// 6 (TCP) or 17 (UDP).
    public var ipProtocol: UInt8

    public init(_ ipProtocol: UInt8, _ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
        self.ipProtocol = ipProtocol
    }
}
