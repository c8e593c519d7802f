import Exposition
import Inventory
import Migration
import NetAddress
import PlanetMetrics
import Sockets
import Testing

/// The dependency families are bounded, and the dependency and migration collectors
/// write their series a part at a time, like traffic.
@Suite struct CollectorPartsTests {
    private let host = IPAddress("10.0.0.5")!

    private func connection(_ localPort: UInt16, _ remote: String, _ remotePort: UInt16, _ name: String) -> OwnedSocket {
        OwnedSocket(entry: SocketEntry(
            protocol: .tcp, state: .established, localAddress: host, localPort: localPort,
            remoteAddress: IPAddress(remote)!, remotePort: remotePort, inode: 1, uid: 0), processName: name)
    }

    private func listener(_ port: UInt16, _ name: String) -> OwnedSocket {
        OwnedSocket(entry: SocketEntry(
            protocol: .tcp, state: .listen, localAddress: .zero, localPort: port,
            remoteAddress: .zero, remotePort: 0, inode: 1, uid: 0), processName: name)
    }

    /// nginx on 443 with 50 clients, sshd on 22 with 3, and 4 upstreams.
    private func report() -> DependencyReport {
        var sockets = [listener(443, "nginx"), listener(22, "sshd")]
        sockets += (1...50).map { connection(443, "198.51.100.\($0)", 40000 + UInt16($0), "nginx") }
        sockets += (1...3).map { connection(22, "192.0.2.\($0)", 50000 + UInt16($0), "sshd") }
        sockets += (1...4).map { connection(45000 + UInt16($0), "203.0.113.\($0)", 5432, "app") }
        return DependencyReport(snapshot: SocketSnapshot(sockets: sockets), hostAddress: host)
    }

    private func samples(_ text: String, _ family: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix(family + "{") }.map(String.init)
    }

    @Test func theServiceWithTheMostPeersIsFoldedFirst() {
        var writer = ExpositionWriter()
        DependencyMetrics.render(report(), into: &writer, labels: { _ in nil }, maxSeries: 10)
        let downstream = samples(writer.text, "planet_downstream")
        #expect(downstream.count == 4)
        #expect(downstream.contains(#"planet_downstream{local_address="10.0.0.5",local_hostgroup="",port="443",process_name="nginx",protocol="tcp",remote_address="",remote_dns_name="",remote_hostgroup="",remote_ip=""} 1"#))
        #expect(downstream.filter { $0.contains(#"port="22""#) && $0.contains(#"remote_ip="192.0.2."#) }.count == 3)
        #expect(samples(writer.text, "planet_upstream").count == 4)
        #expect(samples(writer.text, "planet_server_process").count == 2)
        let renderer = DependencyRenderer(report(), labels: { _ in nil }, maxSeries: 10)
        #expect(renderer.dropped.map(\.series) == [0, 49, 0])
        #expect(DependencyRenderer(report(), labels: { _ in nil }, maxSeries: 1).dropped.map(\.series) == [3, 52, 1])
    }

    @Test func withinTheBoundNothingChanges() {
        var bounded = ExpositionWriter()
        DependencyMetrics.render(report(), into: &bounded, labels: { _ in nil }, maxSeries: 57)
        var unbounded = ExpositionWriter()
        DependencyMetrics.render(report(), into: &unbounded, labels: { _ in nil })
        #expect(bounded.text == unbounded.text)
        #expect(samples(bounded.text, "planet_downstream").count == 53)
    }

    /// Runs a collector's renderer part by part; returns the parts and its success.
    private func parts(_ collector: any MetricsCollector) -> (parts: [String], success: Bool) {
        var renderer = collector.makeRenderer()
        var parts: [String] = []
        while true {
            var writer = ExpositionWriter()
            let success = renderer.renderNext(into: &writer)
            parts.append(writer.text)
            if let success { return (parts, success) }
        }
    }

    @Test func socketstatRendersInParts() {
        var sockets = [listener(443, "nginx")]
        sockets += (0..<5000).map { connection(443, "10.\($0 >> 8).\($0 & 255).9", 40000, "nginx") }
        let report = DependencyReport(snapshot: SocketSnapshot(sockets: sockets), hostAddress: host)
        let collector = SocketstatCollector(maxSeries: 10_000, enrichment: { .none }) { (report, true) }
        let (written, success) = parts(collector)
        #expect(success)
        #expect(written.count >= 3, "5,000 series in parts of at most 2,000")
        let text = written.joined()
        #expect(samples(text, "planet_downstream").count == 5000)
        #expect(text.contains(#"planet_dependency_dropped_series{family="planet_downstream"} 0"#))
        var whole = ExpositionWriter()
        #expect(collector.collect(into: &whole))
        #expect(whole.text == text)
        #expect(ExpositionParser.parse(text).problemCount == 0)
    }

    @Test func migrationRendersInParts() {
        let records = (0..<4500).map { TrafficRecord(remote: IPAddress(ipv4: 0x0A00_0000 + UInt32($0)), direction: .ingress, bytes: 1) }
        let collector = MigrationCollector.darkstat(enrichment: { .none }) { (records, true, 7) }
        let (written, success) = parts(collector)
        #expect(success)
        #expect(written.count >= 3)
        let text = written.joined()
        #expect(samples(text, "planet_traffic_bytes_total").count == 4500)
        #expect(text.contains("planet_darkstat_dropped_samples 7"))
        #expect(ExpositionParser.parse(text).problemCount == 0)
    }
}
