import NetAddress
import Testing

@testable import Sockets

struct DependencyReportTests {
    private let host = IPAddress("10.0.0.5")!

    private func edge(_ local: String, _ remote: String, _ port: UInt16, _ name: String) -> DependencyEdge {
        edge(local, remote, port, .tcp, name)
    }

    private func edge(_ local: String, _ remote: String, _ port: UInt16, _ proto: TransportProtocol, _ name: String) -> DependencyEdge {
        DependencyEdge(localAddress: IPAddress(local)!, remoteAddress: IPAddress(remote)!, port: port, protocol: proto, processName: name)
    }

    private func socket(
        _ state: SocketState, _ local: String, _ localPort: UInt16, _ remote: String, _ remotePort: UInt16, _ name: String?
    ) -> OwnedSocket {
        socket(.tcp, state, local, localPort, remote, remotePort, name)
    }

    private func socket(
        _ proto: TransportProtocol, _ state: SocketState, _ local: String, _ localPort: UInt16,
        _ remote: String, _ remotePort: UInt16, _ name: String?
    ) -> OwnedSocket {
        OwnedSocket(entry: SocketEntry(
            protocol: proto, state: state, localAddress: IPAddress(local)!, localPort: localPort,
            remoteAddress: IPAddress(remote)!, remotePort: remotePort, inode: name == nil ? 0 : 1, uid: 0),
            processName: name)
    }

    @Test func classifiesFixtureTree() throws {
        let report = DependencyReport(snapshot: try SocketTableReader(procRoot: Fixtures.procRoot).read(), hostAddress: host)
        #expect(report.upstreams == [
            edge("10.0.0.5", "35.158.25.125", 443, "curl"),       // two connections, one edge
            edge("10.0.0.5", "10.2.3.3", 8300, "consul"),         // from a v4-mapped tcp6 socket
            edge("10.0.0.5", "10.2.3.4", 8300, "consul"),
            edge("2001:db8::5", "2001:db8::53", 53, .udp, "resolver"),
        ])
        #expect(report.downstreams == [
            edge("10.0.0.5", "192.168.1.2", 22, "sshd"),
            edge("10.0.0.5", "10.1.2.3", 80, "nginx"),            // TIME_WAIT takes the listener's process
            edge("10.0.0.5", "127.0.0.1", 8500, "consul"),        // loopback local replaced
        ])
        #expect(report.servers.map(\.bind) == ["0.0.0.0:22", "0.0.0.0:80", "0.0.0.0:8301", "127.0.0.1:8500", ":::22"])
        #expect(report.servers.map(\.processName) == ["sshd", "nginx", "consul", "consul", "sshd"])
    }

    @Test func listenerPortMakesDownstreamOtherwiseUpstream() {
        let snapshot = SocketSnapshot(sockets: [
            socket(.listen, "0.0.0.0", 9100, "0.0.0.0", 0, "node_exporter"),
            socket(.established, "10.0.0.5", 9100, "10.9.0.1", 40000, "node_exporter"),
            socket(.established, "10.0.0.5", 40001, "10.9.0.1", 9100, "prometheus"),
        ])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.downstreams == [edge("10.0.0.5", "10.9.0.1", 9100, "node_exporter")])
        #expect(report.upstreams == [edge("10.0.0.5", "10.9.0.1", 9100, "prometheus")])
    }

    @Test func listeningPortsArePerProtocol() {
        let snapshot = SocketSnapshot(sockets: [
            socket(.udp, .listen, "0.0.0.0", 53, "0.0.0.0", 0, "dnsmasq"),
            socket(.tcp, .established, "10.0.0.5", 53, "10.9.0.1", 5353, "odd"),
        ])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.downstreams.isEmpty)
        #expect(report.upstreams == [edge("10.0.0.5", "10.9.0.1", 5353, "odd")])
    }

    @Test func timeWaitUpstreamHasNoProcessAndLocalhostUpstreamIsSkipped() {
        let snapshot = SocketSnapshot(sockets: [
            socket(.timeWait, "10.0.0.5", 41000, "52.219.32.222", 443, nil),
            socket(.established, "127.0.0.1", 41001, "127.0.0.1", 8500, "consul-template"),
            socket(.established, "::1", 41002, "::1", 8500, "consul-template"),
            socket(.timeWait, "10.0.0.5", 41003, "10.0.0.6", 80, nil),
        ])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.upstreams == [edge("10.0.0.5", "10.0.0.6", 80, ""), edge("10.0.0.5", "52.219.32.222", 443, "")])
        #expect(report.downstreams.isEmpty)
    }

    @Test func timeWaitDownstreamPrefersExactListener() {
        let snapshot = SocketSnapshot(sockets: [
            socket(.listen, "0.0.0.0", 80, "0.0.0.0", 0, "nginx"),
            socket(.listen, "10.0.0.5", 80, "0.0.0.0", 0, "haproxy"),
            socket(.timeWait, "10.0.0.5", 80, "10.9.0.1", 40000, nil),
            socket(.timeWait, "10.0.0.7", 80, "10.9.0.1", 40001, nil),
            socket(.listen, "::", 443, "::", 0, "envoy"),
            socket(.timeWait, "10.0.0.5", 443, "10.9.0.1", 40002, nil),
        ])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.downstreams == [
            edge("10.0.0.5", "10.9.0.1", 80, "haproxy"),
            edge("10.0.0.7", "10.9.0.1", 80, "nginx"),
            edge("10.0.0.5", "10.9.0.1", 443, "envoy"),
        ])
    }

    @Test func otherStatesAreIgnored() {
        let snapshot = SocketSnapshot(sockets: [socket(.other, "10.0.0.5", 40000, "10.9.0.1", 80, "curl")])
        let report = DependencyReport(snapshot: snapshot, hostAddress: host)
        #expect(report.upstreams.isEmpty && report.downstreams.isEmpty && report.servers.isEmpty)
    }
}
