import Glibc
import NetAddress
import Testing

@testable import Sockets

/// Which unconnected UDP sockets are servers (docs/sockets.md, "UDP: servers and sendto clients").
struct UDPServerRuleTests {
    private let host = IPAddress("10.0.0.5")!

    private func unconnected(_ port: UInt16, _ name: String, address: String = "0.0.0.0") -> OwnedSocket {
        OwnedSocket(entry: SocketEntry(
            protocol: .udp, state: .listen, localAddress: IPAddress(address)!, localPort: port,
            remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0), processName: name)
    }

    @Test func ephemeralPortsAreClientsOthersServers() {
        let snapshot = SocketSnapshot(sockets: [unconnected(53, "dnsmasq"), unconnected(45000, "dig"), unconnected(61000, "ntpd")])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.servers.map(\.processName) == ["dnsmasq", "ntpd"])
        #expect(snapshot.udpListening.sorted == [53, 61000])
        #expect(snapshot.udpUnconnectedEphemeral.sorted == [45000])
        #expect(!snapshot.isListening(.udp, 45000))
    }

    @Test func theKernelsRangeDecides() {
        let snapshot = SocketSnapshot(sockets: [unconnected(45000, "game")],
                                      ephemeralPorts: EphemeralPortRange(lower: 50000, upper: 60000))
        #expect(DependencyReport(snapshot: snapshot, hostAddress: host).servers.map(\.port) == [45000])
    }

    @Test func portsSeveralPeersSentToAreServers() {
        let connected = OwnedSocket(entry: SocketEntry(
            protocol: .udp, state: .established, localAddress: host, localPort: 40000,
            remoteAddress: IPAddress("198.51.100.7")!, remotePort: 50000, inode: 2, uid: 0), processName: "game")
        let snapshot = SocketSnapshot(sockets: [unconnected(40000, "game"), connected])
        let without = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(without.servers.isEmpty)
        #expect(without.downstreams.isEmpty && without.upstreams.map(\.port) == [50000])
        let with = DependencyReport(snapshot: snapshot, hostAddress: host, udpServerPorts: PortSet([40000]))
        #expect(with.servers.map(\.bind) == ["0.0.0.0:40000"])
        #expect(with.downstreams.map(\.port) == [40000] && with.upstreams.isEmpty)
    }

    /// A real client: a UDP socket that sends with sendto and never connects is bound by
    /// the kernel to an ephemeral port and read back unconnected; it is not a server.
    @Test func aRealSendtoClientIsNotAServer() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(9).bigEndian  // discard; nothing needs to answer
        target.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let sent = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, "x", 1, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(sent == 1)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = UInt16(bigEndian: bound.sin_port)
        let snapshot = try SocketTableReader().read()
        let mine = snapshot.sockets.filter { $0.entry.protocol == .udp && $0.entry.localPort == port }
        try #require(!mine.isEmpty, "the socket table has no UDP socket on port \(port)")
        #expect(mine.allSatisfy { $0.entry.state == .listen }, "the client socket reads as bound and unconnected")
        #expect(snapshot.ephemeralPorts.contains(port))
        #expect(!snapshot.isListening(.udp, port))
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(!report.servers.contains { $0.port == port })
    }
}
