import Exposition
import Migration
import NetAddress
import Testing

/// Conversions keep a bounded number of records and count what they leave out, and
/// reading a body sample by sample gives what reading it whole gives.
@Suite struct MigrationBoundsTests {
    let local = LocalAddresses(addresses: [ip("10.20.0.5")])

    @Test func darkstatPeersPastTheBoundAreCounted() throws {
        var text = "# TYPE host_bytes_total counter\n"
        for peer in 1...10 {
            text += "host_bytes_total{interface=\"eth0\",ip=\"10.9.0.\(peer)\",mac=\"\",dir=\"in\"} \(peer * 100)\n"
        }
        text += "host_bytes_total{interface=\"eth1\",ip=\"10.9.0.1\",mac=\"\",dir=\"in\"} 5\n"  // a kept peer still sums
        let conversion = try Darkstat.convert(exposition: Array(text.utf8), local: local, maxRecords: 4)
        #expect(conversion.records.count == 4)
        #expect(conversion.records.first { $0.remote == ip("10.9.0.1") }?.bytes == 105)
        #expect(conversion.droppedSamples == 6)
    }

    @Test func ebpfRecordsPastTheBoundAreCounted() throws {
        var text = ""
        for port in 1...10 {
            text += "ebpf_exporter_ipv4_send_bytes{pid=\"1\",saddr=\"10.20.0.5\",daddr=\"10.9.0.1\",lport=\"\(port)\",dport=\"443\"} 10\n"
        }
        let conversion = try EbpfTcptop.convert(exposition: Array(text.utf8), local: local, maxRecords: 3)
        #expect(conversion.records.count == 3)
        #expect(conversion.droppedSamples == 7)
    }

    @Test(arguments: ["darkstat-metrics.prom", "darkstat-garbage.prom", "edge-cases.prom"])
    func streamingEqualsWhole(fixture: String) throws {
        let body = try migrationFixture(fixture)
        let streamed = try? Darkstat.convert(exposition: body, local: local)
        let whole = try? Darkstat.convert(ExpositionParser.parse(body), local: local)
        #expect(streamed?.records == whole?.records)
        #expect(streamed?.problems == whole?.problems && streamed?.problemCount == whole?.problemCount)
    }
}
