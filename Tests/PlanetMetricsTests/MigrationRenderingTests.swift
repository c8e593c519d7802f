import Exposition
import Foundation
import Inventory
import PlanetMetrics
import Migration
import NetAddress
import TestSupport
import Testing

func migrationFixture(_ name: String) throws -> [UInt8] {
    try RepositoryFixtures.bytes("migration/" + name)
}

func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(text) else { fatalError("bad address in test: \(text)") }
    return address
}

/// The inventory the fixtures are written against.
@Sendable func fixtureInventory(_ address: IPAddress) -> InventoryHost? {
    switch address.description {
    case "10.20.1.7": return InventoryHost(hostgroup: "consul-server", domain: "consul.service.consul")
    case "10.30.4.12": return InventoryHost(hostgroup: "xyz", domain: "xyz.service.consul")
    default: return nil
    }
}

let fixtureHost = InventoryHost(hostgroup: "debugapp", domain: "debugapp.service.consul")

@Suite struct MigrationRenderingTests {
    let local = LocalAddresses(addresses: [ip("10.20.0.5"), ip("2001:db8::5"), ip("127.0.0.1"), ip("::1")])

    @Test func rendersTrafficExactly() throws {
        let conversion = try Darkstat.convert(exposition: try migrationFixture("darkstat-metrics.prom"), local: local)
        var writer = ExpositionWriter()
        MigrationRendering.writeTraffic(conversion.records, local: fixtureHost, inventory: fixtureInventory, into: &writer)
        let common = #"local_domain="debugapp.service.consul",local_hostgroup="debugapp",port="",process_name="",protocol="""#
        #expect(writer.text == """
        # HELP planet_traffic_bytes_total Total network traffic with peers
        # TYPE planet_traffic_bytes_total counter
        planet_traffic_bytes_total{direction="egress",\(common),remote_domain="",remote_hostgroup="",remote_ip="192.168.7.1"} 4096
        planet_traffic_bytes_total{direction="egress",\(common),remote_domain="",remote_hostgroup="",remote_ip="2001:db8::7"} 5000
        planet_traffic_bytes_total{direction="egress",\(common),remote_domain="consul.service.consul",remote_hostgroup="consul-server",remote_ip="10.20.1.7"} 150474
        planet_traffic_bytes_total{direction="egress",\(common),remote_domain="xyz.service.consul",remote_hostgroup="xyz",remote_ip="10.30.4.12"} 2005
        planet_traffic_bytes_total{direction="ingress",\(common),remote_domain="",remote_hostgroup="",remote_ip="192.168.7.1"} 81920
        planet_traffic_bytes_total{direction="ingress",\(common),remote_domain="",remote_hostgroup="",remote_ip="2001:db8::7"} 7000
        planet_traffic_bytes_total{direction="ingress",\(common),remote_domain="consul.service.consul",remote_hostgroup="consul-server",remote_ip="10.20.1.7"} 126014316
        planet_traffic_bytes_total{direction="ingress",\(common),remote_domain="xyz.service.consul",remote_hostgroup="xyz",remote_ip="10.30.4.12"} 2525

        """)
        // What this agent writes reads back cleanly.
        let reread = ExpositionParser.parse(writer.bytes)
        #expect(reread.problems.isEmpty)
        #expect(reread.samples.count == 8)
    }

    @Test func rendersPerPeerAndDirectionExactly() throws {
        let conversion = try EbpfTcptop.convert(exposition: try migrationFixture("ebpf-tcptop-metrics.prom"), local: local)
        var writer = ExpositionWriter()
        MigrationRendering.writeEbpf(conversion.records, local: fixtureHost, inventory: fixtureInventory, into: &writer)
        let common = #"local_domain="debugapp.service.consul",local_hostgroup="debugapp""#
        #expect(writer.text == """
        # HELP planet_ebpf_traffic_bytes_total Total TCP traffic with peers, from ebpf_exporter tcptop
        # TYPE planet_ebpf_traffic_bytes_total counter
        planet_ebpf_traffic_bytes_total{direction="egress",\(common),remote_domain="",remote_hostgroup="",remote_ip="2001:db8::7"} 6144
        planet_ebpf_traffic_bytes_total{direction="egress",\(common),remote_domain="consul.service.consul",remote_hostgroup="consul-server",remote_ip="10.20.1.7"} 1066918
        planet_ebpf_traffic_bytes_total{direction="egress",\(common),remote_domain="xyz.service.consul",remote_hostgroup="xyz",remote_ip="10.30.4.12"} 25165824
        planet_ebpf_traffic_bytes_total{direction="ingress",\(common),remote_domain="",remote_hostgroup="",remote_ip="2001:db8::7"} 33554432
        planet_ebpf_traffic_bytes_total{direction="ingress",\(common),remote_domain="consul.service.consul",remote_hostgroup="consul-server",remote_ip="10.20.1.7"} 4194304
        planet_ebpf_traffic_bytes_total{direction="ingress",\(common),remote_domain="xyz.service.consul",remote_hostgroup="xyz",remote_ip="10.30.4.12"} 73488

        """)
    }

    @Test func summedBytesSaturateInsteadOfWrapping() {
        let record = EbpfRecord(pid: 1, source: ip("10.20.0.5"), destination: ip("10.9.9.9"), localPort: 1,
                                remotePort: 2, direction: .egress, bytes: .max - 1)
        var writer = ExpositionWriter()
        MigrationRendering.writeEbpf([record, record], local: .unknown, inventory: { _ in nil }, into: &writer)
        #expect(writer.text.hasSuffix("remote_ip=\"10.9.9.9\"} \(UInt64.max)\n"))
    }

    @Test func renderedFamiliesPassPromtool() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            print("skipped: \(promtool) not installed (Debian package prometheus)")
            return
        }
        let darkstat = try Darkstat.convert(exposition: try migrationFixture("darkstat-metrics.prom"), local: local)
        let ebpf = try EbpfTcptop.convert(exposition: try migrationFixture("ebpf-tcptop-metrics.prom"), local: local)
        var writer = ExpositionWriter()
        MigrationRendering.writeTraffic(darkstat.records, local: fixtureHost, inventory: fixtureInventory, into: &writer)
        MigrationRendering.writeEbpf(ebpf.records, local: fixtureHost, inventory: fixtureInventory, into: &writer)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(writer.bytes))
        try input.fileHandleForWriting.close()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(report)")
    }
}
