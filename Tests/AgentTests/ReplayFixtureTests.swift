import Agent
import Foundation
import NetAddress
import Testing
import Traffic

/// Replays every capture under Fixtures/pcap and compares the result with the answer
/// its generator computed (NAME.expected, see Fixtures/pcap/README.md).
@Suite struct ReplayFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pcap")

    static var fixtures: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".expected") }.map { String($0.dropLast(".expected".count)) }.sorted()
    }

    struct Expectation {
        var localNets: [IPNetwork] = []
        var failure = false
        var stderrContains: [String] = []
        var lines: [String] = []
    }

    static func expectation(_ name: String) throws -> Expectation {
        let text = try String(contentsOf: directory.appendingPathComponent(name + ".expected"), encoding: .utf8)
        var result = Expectation()
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# replay-args:") {
                let words = line.dropFirst("# replay-args:".count).split(separator: " ")
                for (index, word) in words.enumerated() where word == "--local-net" {
                    result.localNets.append(IPNetwork(words[index + 1])!)
                }
            } else if line.hasPrefix("# exit:") {
                result.failure = line.contains("nonzero")
            } else if line.hasPrefix("# stderr-contains:") {
                result.stderrContains.append(line.dropFirst("# stderr-contains:".count).trimmingCharacters(in: .whitespaces))
            } else if !line.hasPrefix("#") {
                result.lines.append(String(line))
            }
        }
        return result
    }

    /// The samples of an exposition: name, labels and value as written.
    static func samples(from exposition: String) -> [(name: String, labels: [String: String], value: String)] {
        var out: [(name: String, labels: [String: String], value: String)] = []
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            let close = line.lastIndex(of: "}")
            let nameEnd = line.firstIndex(of: "{") ?? line.firstIndex(of: " ") ?? line.endIndex
            let valueStart = close.map { line.index(after: $0) } ?? nameEnd
            var labels: [String: String] = [:]
            if let close, nameEnd < close {
                for pair in line[line.index(after: nameEnd)..<close].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
                }
            }
            out.append((String(line[..<nameEnd]), labels, line[valueStart...].trimmingCharacters(in: .whitespaces)))
        }
        return out
    }

    /// The replay output in the .expected line format.
    static func lines(from exposition: String) -> [String] {
        var out: [String] = []
        var named = Set<String>()
        for (name, labels, value) in samples(from: exposition) {
            switch name {
            case "planet_traffic_bytes_total":
                out.append([labels["direction"]!, labels["protocol"]!, labels["port"]!, labels["remote_ip"]!, value].joined(separator: "\t"))
                if let dnsName = labels["remote_dns_name"], !dnsName.isEmpty {
                    named.insert(["dns_name", labels["remote_ip"]!, dnsName].joined(separator: "\t"))
                }
            case "planet_dns_responses_total" where (labels["result"] == "ok" || labels["result"] == "partial") && value != "0":
                out.append(["dns", labels["result"]!, value].joined(separator: "\t"))
            case "planet_capture_unattributed_bytes_total" where value != "0":
                out.append(["unattributed", labels["reason"]!, value].joined(separator: "\t"))
            case "planet_capture_undecoded_packets_total" where value != "0":
                out.append(["undecoded", labels["reason"]!, value].joined(separator: "\t"))
            case "planet_capture_undecoded_bytes_total" where value != "0":
                out.append(["undecoded_bytes", labels["reason"]!, value].joined(separator: "\t"))
            case "planet_capture_clamped_packets_total" where value != "0":
                out.append(["clamped", labels["reason"]!, value].joined(separator: "\t"))
            case "planet_capture_packets_total" where value != "0":
                out.append(["captured", "packets", value].joined(separator: "\t"))
            case "planet_capture_wire_bytes_total" where value != "0":
                out.append(["captured", "wire_bytes", value].joined(separator: "\t"))
            case "planet_capture_decoded_packets_total" where value != "0":
                out.append(["decoded", "packets", value].joined(separator: "\t"))
            case "planet_capture_decoded_wire_bytes_total" where value != "0":
                out.append(["decoded", "wire_bytes", value].joined(separator: "\t"))
            case "planet_capture_decoded_ip_bytes_total" where value != "0":
                out.append(["decoded", "ip_bytes", value].joined(separator: "\t"))
            default:
                break
            }
        }
        return (out + named).sorted()
    }

    @Test func fixturesArePresent() {
        #expect(Self.fixtures.count >= 10, "Fixtures/pcap has \(Self.fixtures.count) expected answers")
    }

    @Test(arguments: fixtures)
    func replayGivesTheKnownAnswer(name: String) throws {
        let expected = try Self.expectation(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasPrefix(name + ".") && !$0.hasSuffix(".expected") }
            .map { Self.directory.appendingPathComponent($0).path }
        #expect(files.count == 1)
        let result = Replay.run(files: files, localAddresses: LocalAddresses(networks: expected.localNets),
                                maxSeries: 10_000, ephemeralPorts: .linuxDefault)
        #expect(Self.lines(from: String(decoding: result.exposition, as: UTF8.self)) == expected.lines.sorted())
        #expect(!result.errors.isEmpty == expected.failure, "errors: \(result.errors)")
        for fragment in expected.stderrContains {
            #expect(result.errors.contains { $0.contains(fragment) }, "errors \(result.errors) should mention \(fragment)")
        }
        for error in result.errors { #expect(!error.contains("\n")) }
    }

    /// The sum of every sample of `name` in `samples`.
    static func total(_ name: String, _ samples: [(name: String, labels: [String: String], value: String)]) -> UInt64 {
        samples.filter { $0.name == name }.reduce(0) { $0 + UInt64($1.value)! }
    }

    /// The counting identity of the README, on the replay's own output: frames and wire
    /// bytes captured = decoded + undecoded; IP bytes decoded = traffic + unattributed
    /// (+ evicted, ring-dropped and held bytes, all zero here but the eviction case).
    @Test(arguments: fixtures.flatMap { [($0, 10_000), ($0, 3)] })
    func everyCapturedByteIsAccountedFor(name: String, maxSeries: Int) throws {
        let expected = try Self.expectation(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasPrefix(name + ".") && !$0.hasSuffix(".expected") }
            .map { Self.directory.appendingPathComponent($0).path }
        let result = Replay.run(files: files, localAddresses: LocalAddresses(networks: expected.localNets),
                                maxSeries: maxSeries, ephemeralPorts: .linuxDefault)
        let samples = Self.samples(from: String(decoding: result.exposition, as: UTF8.self))
        func total(_ name: String) -> UInt64 { Self.total(name, samples) }
        #expect(total("planet_capture_packets_total")
                == total("planet_capture_decoded_packets_total") + total("planet_capture_undecoded_packets_total"))
        #expect(total("planet_capture_wire_bytes_total")
                == total("planet_capture_decoded_wire_bytes_total") + total("planet_capture_undecoded_bytes_total"))
        #expect(total("planet_capture_decoded_ip_bytes_total")
                == total("planet_traffic_bytes_total") + total("planet_capture_unattributed_bytes_total")
                + total("planet_traffic_evicted_bytes_total") + total("planet_capture_ring_dropped_bytes_total")
                + total("planet_traffic_held_bytes"))
        #expect(total("planet_capture_ring_dropped_bytes_total") == 0)
        #expect(total("planet_traffic_held_bytes") == 0)
        if maxSeries >= 10_000 { #expect(total("planet_traffic_evicted_bytes_total") == 0) }
        #expect(total("planet_traffic_series_limit") == UInt64(maxSeries))
        #expect(total("planet_traffic_series") <= UInt64(maxSeries))
    }
}
