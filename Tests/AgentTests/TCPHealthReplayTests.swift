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

    static let analysisKinds = [
        "planet_tcp_data_segments_total": "data",
        "planet_tcp_retransmitted_segments_total": "retransmitted",
        "planet_tcp_out_of_order_segments_total": "out_of_order",
        "planet_tcp_zero_window_segments_total": "zero_window",
        "planet_tcp_duplicate_ack_runs_total": "dup_ack_runs",
        "planet_tcp_window_full_stalls_total": "window_full",
        "planet_tcp_rtt_seconds_bucket": "rtt_bucket",
        "planet_tcp_rtt_seconds_sum": "rtt_sum",
        "planet_tcp_rtt_seconds_count": "rtt_count",
        "planet_tcp_rtt_samples_total": "rtt_samples",
        "planet_tcp_connections_closed_total": "closed",
    ]

    /// The per-sender series of an exposition in analysis.expected's line format.
    static func analysisLines(_ exposition: String) -> [String] {
        ReplayFixtureTests.samples(from: exposition).compactMap { sample in
            guard let kind = analysisKinds[sample.name] else { return nil }
            var fields = [kind, sample.labels["direction"]!, sample.labels["remote_ip"]!, sample.labels["port"]!,
                          sample.labels["sender"]!]
            if let extra = sample.labels["le"] ?? sample.labels["source"] ?? sample.labels["flag"] { fields.append(extra) }
            fields.append(kind == "rtt_sum" ? String(Double(sample.value)!) : sample.value)
            return fields.joined(separator: "\t")
        }.sorted()
    }

    /// Losses the capture saw and did not see, reordering, duplicate ACKs, zero windows,
    /// keep-alives, probes, round trips by ACK and by timestamp, FIN and RST: every
    /// counter and bucket as the generator's model of the transfers says.
    @Test func replayAnalyzesConnectionsAsTheGeneratorsModelSays() throws {
        let (exposition, expected) = try Self.replay("analysis")
        let model = expected.map { line -> String in
            guard line.hasPrefix("rtt_sum\t") else { return line }
            var fields = line.split(separator: "\t").map(String.init)
            fields[fields.count - 1] = String(Double(fields.last!)!)
            return fields.joined(separator: "\t")
        }.sorted()
        #expect(model.count > 150)
        #expect(Self.analysisLines(exposition) == model)
        #expect(exposition.contains("planet_tcp_health_untracked_total{reason=\"connection_table\"} 0\n"))
    }

    /// The handshake fixture's refused and timed-out connections make no sender series:
    /// only connections past their SYN take a slot.
    @Test func refusedConnectionsWriteNoSenderSeries() throws {
        let (exposition, _) = try Self.replay("health")
        let senders = ReplayFixtureTests.samples(from: exposition).filter { $0.name == "planet_tcp_data_segments_total" }
        #expect(!senders.contains { $0.labels["port"] == "5432" || $0.labels["port"] == "23" || $0.labels["port"] == "9000" })
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
