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

    @Test func portSetEdges() {
        var set = PortSet()
        set.insert(0)
        set.insert(63)
        set.insert(64)
        set.insert(65535)
        #expect(set.sorted == [0, 63, 64, 65535])
        #expect(!set.contains(1))
    }
}
