import Agent
import Foundation
import NetAddress
import Testing

/// DNS names in replay, on Fixtures/pcap/dns.pcap (what it holds: Fixtures/pcap/README.md).
struct ReplayDNSTests {
    static let file = ReplayFixtureTests.directory.appendingPathComponent("dns.pcap").path
    static let local = LocalAddresses(networks: [IPNetwork("10.0.0.0/24")!, IPNetwork("2001:db8:1::/64")!])

    static func replay(maxDNSNames: Int) -> [(name: String, labels: [String: String], value: String)] {
        let result = Replay.run(files: [file], localAddresses: local, maxSeries: 10_000, maxDNSNames: maxDNSNames)
        #expect(result.errors.isEmpty)
        return ReplayFixtureTests.samples(from: String(decoding: result.exposition, as: UTF8.self))
    }

    static func value(_ samples: [(name: String, labels: [String: String], value: String)], _ name: String,
                      _ labels: [String: String] = [:]) -> String? {
        samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
    }

    @Test func everyResponseIsCountedByResult() {
        let samples = Self.replay(maxDNSNames: 1000)
        let results = ["ok": "11", "no_addresses": "1", "truncated": "1", "malformed": "1", "not_response": "0", "partial": "1"]
        for (result, count) in results {
            #expect(Self.value(samples, "planet_dns_responses_total", ["result": result]) == count, "\(result)")
        }
        #expect(Self.value(samples, "planet_dns_dropped_addresses_total") == "2")
        // Four of the eleven answered no query: three unsolicited, one late.
        #expect(Self.value(samples, "planet_dns_answers_refused_total", ["reason": "unsolicited"]) == "3")
        #expect(Self.value(samples, "planet_dns_answers_refused_total", ["reason": "late"]) == "1")
        #expect(Self.value(samples, "planet_dns_queries_total") == "12")
        #expect(Self.value(samples, "planet_dns_queries_dropped_total") == "0")
        #expect(Self.value(samples, "planet_dns_ring_dropped_responses_total") == "0")
        // www 2, api 2, v6 1, pool 16, pool2 16 of 18, old/new 1, partial 2 of 3 (cut by the capture).
        #expect(Self.value(samples, "planet_dns_names") == "40")
        #expect(Self.value(samples, "planet_dns_evicted_names_total") == "0")
    }

    @Test func everyTrafficSeriesCarriesTheLabel() {
        let samples = Self.replay(maxDNSNames: 1000).filter { $0.name == "planet_traffic_bytes_total" }
        #expect(!samples.isEmpty)
        for sample in samples { #expect(sample.labels["remote_dns_name"] != nil) }
        // Forged answers named it; no query asked for them.
        let unnamed = samples.filter { $0.labels["remote_ip"] == "198.51.100.200" }
        #expect(unnamed.count == 2 && unnamed.allSatisfy { $0.labels["remote_dns_name"] == "" })
    }

    @Test func theBoundEvictsAndCounts() {
        let samples = Self.replay(maxDNSNames: 16)
        #expect(Self.value(samples, "planet_dns_names") == "16")
        #expect(Self.value(samples, "planet_dns_evicted_names_total") == "24")
    }

    /// dns.pcap's records 100 times over: far more responses in one read than the DNS
    /// ring holds, so the reader must wake the aggregator rather than wait for it.
    @Test(.timeLimit(.minutes(1))) func moreResponsesThanTheRingHoldsAreAllCounted() throws {
        let fixture = try Data(contentsOf: URL(fileURLWithPath: Self.file))
        var repeated = fixture.prefix(24)
        for _ in 0..<100 { repeated.append(fixture.dropFirst(24)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("planet-dns-\(getpid()).pcap").path
        try repeated.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = Replay.run(files: [path], localAddresses: Self.local, maxSeries: 10_000, maxDNSNames: 1000)
        #expect(result.errors.isEmpty)
        let samples = ReplayFixtureTests.samples(from: String(decoding: result.exposition, as: UTF8.self))
        #expect(Self.value(samples, "planet_dns_responses_total", ["result": "ok"]) == "1100")
        #expect(Self.value(samples, "planet_dns_answers_refused_total", ["reason": "unsolicited"]) == "300")
        #expect(Self.value(samples, "planet_dns_responses_total", ["result": "partial"]) == "100")
        #expect(Self.value(samples, "planet_dns_ring_dropped_responses_total") == "0")
        #expect(Self.value(samples, "planet_dns_names") == "40")
    }

    @Test func zeroTurnsDecodingOff() {
        let samples = Self.replay(maxDNSNames: 0)
        #expect(Self.value(samples, "planet_dns_responses_total", ["result": "ok"]) == "0")
        #expect(samples.filter { $0.name == "planet_traffic_bytes_total" }.allSatisfy { $0.labels["remote_dns_name"] == "" })
    }
}
