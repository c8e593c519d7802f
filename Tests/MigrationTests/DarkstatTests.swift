import Foundation
import TestSupport
import Testing
import Exposition
import Migration
import NetAddress

func migrationFixture(_ name: String) throws -> [UInt8] {
    try RepositoryFixtures.bytes("migration/" + name)
}

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad address in test: \(text)") }
    return address
}

@Suite struct DarkstatTests {
    let local = LocalAddresses(addresses: [ip("10.20.0.5"), ip("127.0.0.1"), ip("::1")])

    @Test func convertsFixtureWithGoOriginalDirections() throws {
        let conversion = try Darkstat.convert(exposition: try migrationFixture("darkstat-metrics.prom"), local: local)
        #expect(conversion.records == [
            TrafficRecord(remote: ip("10.20.1.7"), direction: .egress, bytes: 150_474),
            TrafficRecord(remote: ip("10.20.1.7"), direction: .ingress, bytes: 126_014_316),
            TrafficRecord(remote: ip("10.30.4.12"), direction: .egress, bytes: 2005),
            TrafficRecord(remote: ip("10.30.4.12"), direction: .ingress, bytes: 2525),
            TrafficRecord(remote: ip("192.168.7.1"), direction: .egress, bytes: 4096),
            TrafficRecord(remote: ip("192.168.7.1"), direction: .ingress, bytes: 81920),
            TrafficRecord(remote: ip("2001:db8::7"), direction: .egress, bytes: 5000),
            TrafficRecord(remote: ip("2001:db8::7"), direction: .ingress, bytes: 7000),
        ])
        #expect(conversion.skippedLocal == 2)
        #expect(conversion.problems.isEmpty)
        #expect(conversion.problemCount == 0)
    }

    @Test func localNetworksAreSkippedToo() throws {
        let withNetwork = LocalAddresses(addresses: [], networks: [IPNetwork("10.20.0.0/16")!])
        let conversion = try Darkstat.convert(exposition: try migrationFixture("darkstat-metrics.prom"), local: withNetwork)
        #expect(conversion.skippedLocal == 4)
        #expect(!conversion.records.contains { $0.remote == ip("10.20.1.7") })
        #expect(conversion.records.count == 6)
    }

    @Test func skipsGarbageSamplesAndSumsPerPeer() throws {
        let conversion = try Darkstat.convert(exposition: try migrationFixture("darkstat-garbage.prom"), local: local)
        #expect(conversion.records == [
            TrafficRecord(remote: ip("10.20.1.7"), direction: .egress, bytes: 100),
            TrafficRecord(remote: ip("10.20.1.7"), direction: .ingress, bytes: 250),
        ])
        #expect(conversion.problems == [
            ExpositionProblem(line: 6, reason: "ip \"not-an-address\" is not an IP address"),
            ExpositionProblem(line: 7, reason: "dir \"sideways\" is neither \"in\" nor \"out\""),
            ExpositionProblem(line: 8, reason: "host_bytes_total has no ip label"),
            ExpositionProblem(line: 9, reason: "value -5 is not a byte count"),
            ExpositionProblem(line: 10, reason: "value NaN is not a byte count"),
            ExpositionProblem(line: 11, reason: "value 1.5 is not a byte count"),
            ExpositionProblem(line: 12, reason: "label set is missing its closing brace"),
        ])
        #expect(conversion.problemCount == 7)
    }

    @Test func darkstatWithoutMetricsEndpointIsOneClearError() throws {
        // darkstat 3.0.719 (Debian) predates /metrics and answers with its 404 page.
        let page = try migrationFixture("darkstat-3.0.719-metrics-404.html")
        #expect(throws: MigrationError("darkstat: response has no host_bytes_total metric (5 of 5 lines malformed, "
            + "first line 1: expected a metric name at \"<html><head><title>404 Not Found</title>\"...); "
            + "check that -task-darkstat-addr is the exporter's /metrics URL")) {
            try Darkstat.convert(exposition: page, local: local)
        }
    }

    @Test func emptyResponseIsOneClearError() {
        #expect(throws: MigrationError("darkstat: empty response; check that -task-darkstat-addr is the exporter's /metrics URL")) {
            try Darkstat.convert(exposition: [], local: local)
        }
    }

    @Test func otherExporterIsOneClearError() throws {
        let ebpf = try migrationFixture("ebpf-tcptop-metrics.prom")
        #expect(throws: MigrationError("darkstat: response has no host_bytes_total metric; "
            + "check that -task-darkstat-addr is the exporter's /metrics URL")) {
            try Darkstat.convert(exposition: ebpf, local: local)
        }
    }

    @Test func onlyUnusableSamplesIsOneClearError() {
        let text = "host_bytes_total{ip=\"10.1.1.1\",dir=\"in\"} -1\nhost_bytes_total{ip=\"x\",dir=\"out\"} 1\n"
        #expect(throws: MigrationError("darkstat: none of 2 host_bytes_total samples could be used, "
            + "first line 1: value -1 is not a byte count")) {
            try Darkstat.convert(exposition: Array(text.utf8), local: local)
        }
    }

    @Test func darkstatThatHasSeenNothingYetIsNotAnError() throws {
        let header = "# HELP host_bytes_total Total number of network bytes by host and direction.\n# TYPE host_bytes_total counter\n"
        let conversion = try Darkstat.convert(exposition: Array(header.utf8), local: local)
        #expect(conversion.records.isEmpty)
        #expect(conversion.problemCount == 0)
    }

    @Test func onlyLocalTrafficIsNotAnError() throws {
        let text = "host_bytes_total{interface=\"lo\",ip=\"127.0.0.1\",dir=\"in\"} 1200\n"
        let conversion = try Darkstat.convert(exposition: Array(text.utf8), local: local)
        #expect(conversion.records.isEmpty)
        #expect(conversion.skippedLocal == 1)
    }
}
