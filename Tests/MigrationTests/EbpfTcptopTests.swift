import Foundation
import Testing
import Exposition
import Migration
import NetAddress

@Suite struct EbpfTcptopTests {
    let local = LocalAddresses(addresses: [ip("10.20.0.5"), ip("2001:db8::5"), ip("127.0.0.1"), ip("::1")])

    @Test func convertsFixtureIntoConnectionRecords() throws {
        let conversion = try EbpfTcptop.convert(exposition: try migrationFixture("ebpf-tcptop-metrics.prom"), local: local)
        let host = ip("10.20.0.5")
        #expect(conversion.records == [
            EbpfRecord(pid: 812, source: host, destination: ip("10.20.1.7"), localPort: 51234, remotePort: 8500,
                       direction: .ingress, bytes: 4_194_304),
            EbpfRecord(pid: 1290, source: host, destination: ip("10.30.4.12"), localPort: 443, remotePort: 48920,
                       direction: .ingress, bytes: 73488),
            EbpfRecord(pid: 812, source: host, destination: ip("10.20.1.7"), localPort: 40112, remotePort: 8300,
                       direction: .egress, bytes: 1_048_576),
            EbpfRecord(pid: 812, source: host, destination: ip("10.20.1.7"), localPort: 51234, remotePort: 8500,
                       direction: .egress, bytes: 18342),
            EbpfRecord(pid: 1290, source: host, destination: ip("10.30.4.12"), localPort: 443, remotePort: 48920,
                       direction: .egress, bytes: 25_165_824),
            EbpfRecord(pid: 2001, source: ip("2001:db8::5"), destination: ip("2001:db8::7"), localPort: 55120,
                       remotePort: 443, direction: .ingress, bytes: 33_554_432),
            EbpfRecord(pid: 2001, source: ip("2001:db8::5"), destination: ip("2001:db8::7"), localPort: 55120,
                       remotePort: 443, direction: .egress, bytes: 6144),
        ])
        #expect(conversion.skippedLocal == 2)
        #expect(conversion.problemCount == 0)
    }

    @Test func ipv4OnlyExporterWithGarbageSamples() throws {
        // The Go original's tcptop.yaml exports only the IPv4 pair; that is enough.
        let conversion = try EbpfTcptop.convert(exposition: try migrationFixture("ebpf-tcptop-garbage.prom"), local: local)
        let host = ip("10.20.0.5")
        let peer = ip("10.30.4.12")
        #expect(conversion.records == [
            EbpfRecord(pid: 900, source: host, destination: peer, localPort: 51000, remotePort: 443, direction: .egress, bytes: 4096),
            EbpfRecord(pid: 900, source: host, destination: peer, localPort: 51000, remotePort: 443, direction: .ingress, bytes: 1_200_000),
        ])
        #expect(conversion.problems == [
            ExpositionProblem(line: 4, reason: "pid \"abc\" is not a process id"),
            ExpositionProblem(line: 5, reason: "lport \"70000\" is not a port number"),
            ExpositionProblem(line: 6, reason: "daddr \"garbage\" is not an IP address"),
            ExpositionProblem(line: 7, reason: "ebpf_exporter_ipv4_send_bytes has no dport label"),
            ExpositionProblem(line: 8, reason: "value NaN is not a byte count"),
            ExpositionProblem(line: 9, reason: "value -Inf is not a byte count"),
            ExpositionProblem(line: 10, reason: "label set is missing its closing brace"),
        ])
        #expect(conversion.problemCount == 7)
    }

    @Test func responseWithoutTcptopIsOneClearError() throws {
        let darkstat = try migrationFixture("darkstat-metrics.prom")
        #expect(throws: MigrationError("ebpf_exporter: response has no tcptop (ebpf_exporter_ipv4_send_bytes and friends) metric; "
            + "check that -task-ebpf-addr is the exporter's /metrics URL")) {
            try EbpfTcptop.convert(exposition: darkstat, local: local)
        }
    }

    @Test func onlyUnusableSamplesIsOneClearError() {
        let text = #"ebpf_exporter_ipv6_recv_bytes{daddr="::g",dport="1",lport="2",pid="3",saddr="::1"} 5"# + "\n"
        #expect(throws: MigrationError("ebpf_exporter: none of 1 tcptop samples could be used, "
            + "first line 1: daddr \"::g\" is not an IP address")) {
            try EbpfTcptop.convert(exposition: Array(text.utf8), local: local)
        }
    }
}
