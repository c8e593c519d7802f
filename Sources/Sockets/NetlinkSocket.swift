import Diagnostics
#if canImport(Glibc)
import Glibc
#endif

/// A `NETLINK_SOCK_DIAG` socket that runs dumps one after another.
struct NetlinkSocket {
    private let fd: Int32
    private var sequence: UInt32 = 0

    init() throws {
        do {
            fd = try systemCall("socket", "netlink sock_diag") {
                socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 4 /* NETLINK_SOCK_DIAG */)
            }
        } catch {
            throw SocketTableError("\(error)")
        }
    }

    func close() {
        _ = Glibc.close(fd)
    }

    mutating func dump(ipv6: Bool, protocol proto: TransportProtocol, buffer: inout [UInt8], into entries: inout [SocketEntry]) throws {
        sequence &+= 1
        try dump(SockDiagParser.dumpRequest(ipv6: ipv6, protocol: proto, sequence: sequence), protocol: proto,
                 buffer: &buffer, into: &entries)
    }

    /// Every TCP socket of both families in one dump; see `SockDiagParser.tcpBothFamiliesDumpRequest`.
    mutating func dumpTCPBothFamilies(buffer: inout [UInt8], into entries: inout [SocketEntry]) throws {
        sequence &+= 1
        try dump(SockDiagParser.tcpBothFamiliesDumpRequest(sequence: sequence), protocol: .tcp,
                 buffer: &buffer, into: &entries)
    }

    private func dump(_ request: [UInt8], protocol proto: TransportProtocol, buffer: inout [UInt8],
                      into entries: inout [SocketEntry]) throws {
        // sockaddr_nl for the kernel: family AF_NETLINK, pid 0, groups 0.
        var kernel = sockaddr_storage()
        withUnsafeMutableBytes(of: &kernel) { $0.storeBytes(of: UInt16(AF_NETLINK), toByteOffset: 0, as: UInt16.self) }
        let sent: Int
        do {
            sent = try request.withUnsafeBytes { raw throws(SystemCallError) in
                try withUnsafePointer(to: &kernel) { address throws(SystemCallError) in
                    try address.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemCallError) in
                        try systemCall("sendto", "netlink sock_diag") { sendto(fd, raw.baseAddress, raw.count, 0, address, 12) }
                    }
                }
            }
        } catch {
            throw SocketTableError("\(error)")
        }
        if sent != request.count { throw SocketTableError("sendto netlink sock_diag: short write") }
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { raw throws(SystemCallError) in
                    try systemCall("recv", "netlink sock_diag") { recv(fd, raw.baseAddress, raw.count, 0) }
                }
            } catch {
                throw SocketTableError("\(error)")
            }
            if count == 0 { throw SocketTableError("netlink sock_diag: dump ended without NLMSG_DONE") }
            let progress = try buffer.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                try SockDiagParser.parse(UnsafeRawBufferPointer(rebasing: raw[0..<count]), protocol: proto, into: &entries)
            }
            if progress == .done { return }
        }
    }
}
