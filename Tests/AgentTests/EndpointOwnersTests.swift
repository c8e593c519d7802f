import NetAddress
import Sockets
import TestSupport
import Testing
import Traffic

@testable import Agent

/// What the socket task hands the counting rules: the process that owns each local endpoint.
struct EndpointOwnersTests {
    private func fixture() throws -> SocketSnapshot {
        try SocketTableReader(procRoot: RepositoryFixtures.path("sockets/proc")).read()
    }

    @Test func processNameOfLocalEndpoint() throws {
        let snapshot = try fixture()
        func name(_ proto: TransportProtocol, _ address: String, _ port: UInt16) -> String? {
            EndpointOwners(snapshot).processName(ipProtocol: proto.rawValue, localAddress: IPAddress(address)!, localPort: port)
        }
        #expect(name(.tcp, "10.0.0.5", 22) == "sshd")            // exact: the accepted session
        #expect(name(.tcp, "10.9.9.9", 80) == "nginx")           // 0.0.0.0 listener
        #expect(name(.tcp, "2001:db8::5", 22) == "sshd")         // :: listener
        #expect(name(.tcp, "127.0.0.1", 8500) == "consul")       // exact listener
        #expect(name(.tcp, "10.0.0.5", 50001) == "curl")         // client socket, exact
        #expect(name(.tcp, "10.0.0.99", 45000) == "consul")      // client socket, by port
        #expect(name(.udp, "10.0.0.5", 8301) == "consul")
        #expect(name(.udp, "2001:db8::5", 53000) == "resolver")
        #expect(name(.tcp, "10.0.0.5", 8301) == nil)
        #expect(name(.tcp, "10.0.0.5", 12345) == nil)
    }

    @Test func ipv4PacketFallsBackToIPv6WildcardListener() {
        let entry = SocketEntry(
            protocol: .tcp, state: .listen, localAddress: .zero, localPort: 9100,
            remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0)
        let snapshot = EndpointOwners(SocketSnapshot(sockets: [OwnedSocket(entry: entry, processName: "node_exporter")]))
        #expect(snapshot.processName(ipProtocol: 6, localAddress: IPAddress("10.0.0.5")!, localPort: 9100) == "node_exporter")
        #expect(snapshot.processName(ipProtocol: 17, localAddress: IPAddress("10.0.0.5")!, localPort: 9100) == nil)
    }

    @Test func exactListenerWinsOverWildcard() {
        func listener(_ address: String, _ name: String) -> OwnedSocket {
            OwnedSocket(entry: SocketEntry(
                protocol: .udp, state: .listen, localAddress: IPAddress(address)!, localPort: 53,
                remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0), processName: name)
        }
        let snapshot = EndpointOwners(SocketSnapshot(sockets: [listener("0.0.0.0", "dnsmasq"), listener("127.0.0.53", "systemd-resolve")]))
        #expect(snapshot.processName(ipProtocol: 17, localAddress: IPAddress("127.0.0.53")!, localPort: 53) == "systemd-resolve")
        #expect(snapshot.processName(ipProtocol: 17, localAddress: IPAddress("10.0.0.5")!, localPort: 53) == "dnsmasq")
    }

    /// A sendto client's socket (unconnected, ephemeral port) names its process but is no
    /// listener, so its port never becomes a service port; a server's port is one.
    @Test func unconnectedUDPOnAnEphemeralPortIsNoListener() {
        func unconnected(_ port: UInt16, _ name: String) -> OwnedSocket {
            OwnedSocket(entry: SocketEntry(
                protocol: .udp, state: .listen, localAddress: .zero, localPort: port,
                remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0), processName: name)
        }
        let owners = EndpointOwners(SocketSnapshot(sockets: [unconnected(45000, "dig"), unconnected(53, "dnsmasq")]))
        #expect(!owners.isListening(ipProtocol: 17, port: 45000))
        #expect(owners.isListening(ipProtocol: 17, port: 53))
        #expect(owners.udpUnconnected.sorted == [45000])
        #expect(owners.processName(ipProtocol: 17, localAddress: IPAddress("10.0.0.5")!, localPort: 45000) == "dig")
    }
}
