import Agent
import Foundation
import NetAddress
import Testing

/// Replays Fixtures/tcp/health.pcap and compares every planet_tcp_* edge series with
/// the answer its generator computed (scripts/fixtures/make_tcp_health_pcap.py).
@Suite struct TCPHealthReplayTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tcp")

    static let kinds = [
        "planet_tcp_connection_attempts_total": "attempts",
        "planet_tcp_connections_established_total": "established",
        "planet_tcp_connections_refused_total": "refused",
        "planet_tcp_connections_timed_out_total": "timed_out",
        "planet_tcp_connections_reset_total": "reset",
        "planet_tcp_handshake_seconds_bucket": "bucket",
        "planet_tcp_handshake_seconds_sum": "sum",
        "planet_tcp_handshake_seconds_count": "count",
    ]

    /// The edge series of an exposition in the .expected line format (sums as written).
    static func lines(_ exposition: String) -> [String] {
        ReplayFixtureTests.samples(from: exposition).compactMap { sample in
            guard let kind = kinds[sample.name] else { return nil }
            #expect(sample.labels["protocol"] == "tcp")
            #expect(sample.labels["process_name"] == "")
            var fields = [kind, sample.labels["direction"]!, sample.labels["remote_ip"]!, sample.labels["port"]!]
            if let le = sample.labels["le"] { fields.append(le) }
            fields.append(sample.value)
            return fields.joined(separator: "\t")
        }.sorted()
    }

    /// Sums compared as numbers: the generator writes microseconds as 6 decimals.
    static func normalized(_ lines: [String]) -> [String] {
        lines.map { line in
            guard line.hasPrefix("sum\t") else { return line }
            var fields = line.split(separator: "\t").map(String.init)
            fields[fields.count - 1] = String(Double(fields.last!)!)
            return fields.joined(separator: "\t")
        }
    }

    /// Replays `name`.pcap; returns its exposition and the lines of `name`.expected.
    static func replay(_ name: String) throws -> (exposition: String, expected: [String]) {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".expected"), encoding: .utf8)
        let expected = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        let result = Replay.run(files: [directory.appendingPathComponent(name + ".pcap").path],
                                localAddresses: LocalAddresses(networks: [IPNetwork("10.0.0.0/24")!, IPNetwork("2001:db8:0:1::/64")!]),
                                maxSeries: 10_000)
        #expect(result.errors.isEmpty)
        return (String(decoding: result.exposition, as: UTF8.self), expected)
    }

    @Test func replayGivesTheGeneratorsCounts() throws {
        let (exposition, expected) = try Self.replay("health")
        #expect(expected.count > 50)
        #expect(Self.normalized(Self.lines(exposition)) == Self.normalized(expected.sorted()))
        #expect(exposition.contains("# TYPE planet_tcp_handshake_seconds histogram\n"))
        #expect(exposition.contains("planet_tcp_health_edges 7\n"))
        #expect(exposition.contains("planet_tcp_health_untracked_total{reason=\"handshake_table\"} 0\n"))
        #expect(exposition.contains("planet_tcp_health_untracked_total{reason=\"edge_limit\"} 0\n"))
    }

    /// A SYN nobody answers, then only UDP for three minutes: timed out by the time of the
    /// UDP packets, though no TCP packet follows it.
    @Test func laterPacketsOfAnyKindTimeAHandshakeOut() throws {
        let (exposition, expected) = try Self.replay("health_quiet_end")
        #expect(expected.contains("timed_out\tupstream\t192.0.2.30\t9000\t1"))
        #expect(Self.normalized(Self.lines(exposition)) == Self.normalized(expected.sorted()))
    }

    /// With room for 2 edges, the events of the other edges are counted as untracked.
    @Test func edgesPastTheLimitAreCounted() throws {
        let result = Replay.run(files: [Self.directory.appendingPathComponent("health.pcap").path],
                                localAddresses: LocalAddresses(networks: [IPNetwork("10.0.0.0/24")!, IPNetwork("2001:db8:0:1::/64")!]),
                                maxSeries: 2)
        let exposition = String(decoding: result.exposition, as: UTF8.self)
        #expect(exposition.contains("planet_tcp_health_edges 2\n"))
        let dropped = ReplayFixtureTests.samples(from: exposition)
            .first { $0.name == "planet_tcp_health_untracked_total" && $0.labels["reason"] == "edge_limit" }
        #expect(dropped.map { UInt64($0.value)! } ?? 0 > 0)
    }
}
