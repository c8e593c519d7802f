import Exposition
import Inventory
import NetAddress
import PlanetMetrics
import Sockets
import Testing
import Traffic

/// `process_unit` beside `process_name` in every family that has a process, and nowhere
/// without -process-unit-label.
@Suite struct ProcessUnitLabelTests {
    private let peer = IPAddress("203.0.113.9")!

    /// java in two units, both talking to one peer and port.
    private var traffic: TrafficSnapshot {
        var snapshot = TrafficSnapshot()
        snapshot.processNames = ["", "java", "java"]
        snapshot.processUnits = ["", "billing.service", "search.service"]
        for (process, bytes) in [(UInt32(1), UInt64(1500)), (2, 700)] {
            snapshot.keys.append(TrafficKey(peer: peer, direction: .egress, ipProtocol: 6, port: 443, process: process))
            snapshot.counters.append(TrafficCounters(bytes: bytes, packets: 1))
        }
        return snapshot
    }

    private func render(_ renderer: inout TrafficRenderer) -> [String] {
        var writer = ExpositionWriter()
        while !renderer.render(upTo: 1, into: &writer) {}
        return writer.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    @Test func trafficSeriesOfOneNameInTwoUnitsDifferOnlyInTheUnit() {
        var renderer = TrafficRenderer(traffic, local: .unknown, lookup: { _ in nil }, processUnitLabel: true)
        #expect(render(&renderer) == [
            #"planet_traffic_bytes_total{direction="egress",local_domain="",local_hostgroup="",port="443",process_name="java",process_unit="billing.service",protocol="tcp",remote_dns_name="",remote_domain="",remote_hostgroup="",remote_ip="203.0.113.9"} 1500"#,
            #"planet_traffic_bytes_total{direction="egress",local_domain="",local_hostgroup="",port="443",process_name="java",process_unit="search.service",protocol="tcp",remote_dns_name="",remote_domain="",remote_hostgroup="",remote_ip="203.0.113.9"} 700"#,
        ])
    }

    @Test func withoutTheLabelTrafficSeriesAreAsBefore() {
        var snapshot = TrafficSnapshot()
        snapshot.processNames = ["", "java"]
        snapshot.keys = [TrafficKey(peer: peer, direction: .egress, ipProtocol: 6, port: 443, process: 1)]
        snapshot.counters = [TrafficCounters(bytes: 1500, packets: 1)]
        var renderer = TrafficRenderer(snapshot, local: .unknown, lookup: { _ in nil })
        #expect(render(&renderer) == [
            #"planet_traffic_bytes_total{direction="egress",local_domain="",local_hostgroup="",port="443",process_name="java",protocol="tcp",remote_dns_name="",remote_domain="",remote_hostgroup="",remote_ip="203.0.113.9"} 1500"#,
        ])
    }

    @Test func tcpHealthEdgesCarryTheUnitOnlyWithTheLabel() {
        var snapshot = TCPHealthSnapshot()
        snapshot.keys = [TCPEdgeKey(peer: peer, port: 443, upstream: true, process: "java", unit: "billing.service")]
        var health = TCPEdgeHealth()
        health.attempts = 3
        snapshot.edges = [health]
        func attempts(_ label: Bool) -> [String] {
            var renderer = TCPHealthRenderer(snapshot, processUnitLabel: label)
            var writer = ExpositionWriter()
            while !renderer.render(upTo: 10, into: &writer) {}
            return writer.text.split(separator: "\n").filter { $0.hasPrefix("planet_tcp_connection_attempts_total{") }.map(String.init)
        }
        #expect(attempts(true) == [#"planet_tcp_connection_attempts_total{direction="upstream",port="443",process_name="java",process_unit="billing.service",protocol="tcp",remote_ip="203.0.113.9"} 3"#])
        #expect(attempts(false) == [#"planet_tcp_connection_attempts_total{direction="upstream",port="443",process_name="java",protocol="tcp",remote_ip="203.0.113.9"} 3"#])
    }

    @Test func aFoldedServiceKeepsItsUnit() {
        let host = IPAddress("10.0.0.5")!
        func socket(_ state: SocketState, _ port: UInt16, _ remote: IPAddress, _ unit: String) -> OwnedSocket {
            OwnedSocket(entry: SocketEntry(protocol: .tcp, state: state, localAddress: state == .listen ? .zero : host,
                                           localPort: port, remoteAddress: remote, remotePort: state == .listen ? 0 : 50000,
                                           inode: 1, uid: 0),
                        processName: "java", processUnit: unit)
        }
        // java serves 8080 in billing.service to 20 clients and 9090 in search.service to one.
        var sockets = [socket(.listen, 8080, .zero, "billing.service"), socket(.listen, 9090, .zero, "search.service")]
        sockets += (1...20).map { socket(.established, 8080, IPAddress("198.51.100.\($0)")!, "billing.service") }
        sockets.append(socket(.established, 9090, IPAddress("192.0.2.1")!, "search.service"))
        let report = DependencyReport(snapshot: SocketSnapshot(sockets: sockets), hostAddress: host)
        var writer = ExpositionWriter()
        DependencyMetrics.render(report, into: &writer, labels: { _ in nil }, maxSeries: 5, processUnitLabel: true)
        let downstream = writer.text.split(separator: "\n").filter { $0.hasPrefix("planet_downstream{") }.map(String.init)
        #expect(downstream == [
            #"planet_downstream{local_address="10.0.0.5",local_hostgroup="",port="8080",process_name="java",process_unit="billing.service",protocol="tcp",remote_address="",remote_dns_name="",remote_hostgroup="",remote_ip=""} 1"#,
            #"planet_downstream{local_address="10.0.0.5",local_hostgroup="",port="9090",process_name="java",process_unit="search.service",protocol="tcp",remote_address="192.0.2.1",remote_dns_name="",remote_hostgroup="",remote_ip="192.0.2.1"} 1"#,
        ])
        let servers = writer.text.split(separator: "\n").filter { $0.hasPrefix("planet_server_process{") }
        #expect(servers.allSatisfy { $0.contains(#"process_unit=""#) } && servers.count == 2)
    }
}
