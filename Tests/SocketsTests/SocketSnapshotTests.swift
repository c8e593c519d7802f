import Atomics
import NetAddress
import Testing

@testable import Sockets

struct SocketSnapshotTests {
    private func fixture() throws -> SocketSnapshot {
        try SocketTableReader(procRoot: Fixtures.procRoot).read()
    }

    @Test func listeningPortsPerProtocol() throws {
        let snapshot = try fixture()
        #expect(snapshot.tcpListening.sorted == [22, 80, 8500])
        #expect(snapshot.udpListening.sorted == [8301])
        #expect(snapshot.listeningPorts(.tcp) == snapshot.tcpListening)
        #expect(snapshot.listeningPorts(.udp).sorted == [8301])
        #expect(snapshot.isListening(.tcp, 22))
        #expect(!snapshot.isListening(.udp, 22))
        #expect(snapshot.isListening(.udp, 8301))
        #expect(!snapshot.isListening(.tcp, 8301))
        #expect(!snapshot.isListening(.tcp, 0))
        #expect(!snapshot.isListening(.tcp, 65535))
    }

    @Test func publishedThroughAnAtomicReference() throws {
        let published = ManagedAtomic(SocketSnapshot(sockets: []))
        #expect(!published.load(ordering: .acquiring).isListening(.tcp, 22))
        published.store(try fixture(), ordering: .releasing)
        #expect(published.load(ordering: .acquiring).isListening(.tcp, 22))
    }

    @Test func portSetEdges() {
        var set = PortSet()
        set.insert(0)
        set.insert(63)
        set.insert(64)
        set.insert(65535)
        #expect(set.sorted == [0, 63, 64, 65535])
        #expect(!set.contains(1))
    }

    @Test func processNameOfLocalEndpoint() throws {
        let snapshot = try fixture()
        func name(_ proto: TransportProtocol, _ address: String, _ port: UInt16) -> String? {
            snapshot.processName(protocol: proto, localAddress: IPAddress(address)!, localPort: port)
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
        let snapshot = SocketSnapshot(sockets: [OwnedSocket(entry: entry, processName: "node_exporter")])
        #expect(snapshot.processName(protocol: .tcp, localAddress: IPAddress("10.0.0.5")!, localPort: 9100) == "node_exporter")
        #expect(snapshot.processName(protocol: .udp, localAddress: IPAddress("10.0.0.5")!, localPort: 9100) == nil)
    }

    @Test func exactListenerWinsOverWildcard() {
        func listener(_ address: String, _ name: String) -> OwnedSocket {
            OwnedSocket(entry: SocketEntry(
                protocol: .udp, state: .listen, localAddress: IPAddress(address)!, localPort: 53,
                remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0), processName: name)
        }
        let snapshot = SocketSnapshot(sockets: [listener("0.0.0.0", "dnsmasq"), listener("127.0.0.53", "systemd-resolve")])
        #expect(snapshot.processName(protocol: .udp, localAddress: IPAddress("127.0.0.53")!, localPort: 53) == "systemd-resolve")
        #expect(snapshot.processName(protocol: .udp, localAddress: IPAddress("10.0.0.5")!, localPort: 53) == "dnsmasq")
    }
}
