import Exposition
import NetAddress
import PacketDecoding
import PlanetMetrics
import Testing
import Traffic

/// An interface's own counters beside the capture's, and the coverage worked out from them.
@Suite struct InterfaceCoverageTests {
    private func captured(packets: UInt64, wireBytes: UInt64) -> CaptureCounters {
        var counters = CaptureCounters()
        counters.packets = packets
        counters.bytes.wireBytes = wireBytes
        return counters
    }

    private let atStart = InterfaceStatistics(receiveBytes: 1000, transmitBytes: 2000, receivePackets: 10, transmitPackets: 20,
                                              receiveDropped: 1, transmitDropped: 0)

    @Test func coverageCountsFromTheBaseline() throws {
        // The capture had counted 5 packets (an earlier handle) when this baseline was taken.
        let baseline = InterfaceBaseline(index: 7, kernel: atStart, captured: captured(packets: 5, wireBytes: 500))
        let now = InterfaceStatistics(receiveBytes: 1000 + 4200, transmitBytes: 2000 + 1800, receivePackets: 10 + 40,
                                      transmitPackets: 20 + 60, receiveDropped: 3, transmitDropped: 2)
        let coverage = InterfaceCoverage(interface: "eth0", kernel: now, baseline: baseline,
                                         captured: captured(packets: 5 + 75, wireBytes: 500 + 6000))
        let since = try #require(coverage.sinceStart)
        #expect(since == .init(kernelPackets: 100, kernelBytes: 6000, capturedPackets: 75, capturedBytes: 6000))
        #expect(since.packetsRatio == 0.75)
        #expect(since.bytesRatio == 1)
    }

    @Test func nothingSinceTheStartHasNoRatio() throws {
        let baseline = InterfaceBaseline(index: 7, kernel: atStart, captured: CaptureCounters())
        let coverage = InterfaceCoverage(interface: "eth0", kernel: atStart, baseline: baseline, captured: CaptureCounters())
        let since = try #require(coverage.sinceStart)
        #expect(since.packetsRatio == nil)
        #expect(since.bytesRatio == nil)
    }

    @Test func countersBelowTheBaselineCannotBeCompared() {
        let baseline = InterfaceBaseline(index: 7, kernel: atStart, captured: CaptureCounters())
        let restarted = InterfaceStatistics(receiveBytes: 64, transmitBytes: 64, receivePackets: 1, transmitPackets: 1)
        #expect(InterfaceCoverage(interface: "eth0", kernel: restarted, baseline: baseline, captured: CaptureCounters()).sinceStart == nil)
    }

    @Test func aBaselineContinuesOnlyForTheSameInterface() {
        let baseline = InterfaceBaseline(index: 7, kernel: atStart, captured: CaptureCounters())
        var later = atStart
        later.receivePackets += 3
        later.receiveBytes += 300
        #expect(baseline.continues(index: 7, kernel: later))
        #expect(baseline.continues(index: 7, kernel: atStart))
        #expect(!baseline.continues(index: 8, kernel: later))        // another interface of the same name
        #expect(!baseline.continues(index: 7, kernel: InterfaceStatistics()))  // counters started again
    }

    @Test func rendersTheKernelCountersAndTheRatios() {
        let baseline = InterfaceBaseline(index: 3, kernel: atStart, captured: CaptureCounters())
        let now = InterfaceStatistics(receiveBytes: 1000 + 98, transmitBytes: 2000 + 98, receivePackets: 11, transmitPackets: 21,
                                      receiveDropped: 1, transmitDropped: 0)
        let interfaces = [
            InterfaceCoverage(interface: "veth-a", kernel: now, baseline: baseline, captured: captured(packets: 2, wireBytes: 196)),
            InterfaceCoverage(interface: "veth-b", kernel: now, baseline: baseline, captured: captured(packets: 1, wireBytes: 49)),
            InterfaceCoverage(interface: "idle0", kernel: atStart, baseline: baseline, captured: CaptureCounters()),
        ]
        var writer = ExpositionWriter()
        InterfaceCoverage.render(interfaces, into: &writer)
        let samples = writer.text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(samples == [
            #"planet_interface_receive_bytes_total{interface="veth-a"} 1098"#,
            #"planet_interface_receive_bytes_total{interface="veth-b"} 1098"#,
            #"planet_interface_receive_bytes_total{interface="idle0"} 1000"#,
            #"planet_interface_transmit_bytes_total{interface="veth-a"} 2098"#,
            #"planet_interface_transmit_bytes_total{interface="veth-b"} 2098"#,
            #"planet_interface_transmit_bytes_total{interface="idle0"} 2000"#,
            #"planet_interface_receive_packets_total{interface="veth-a"} 11"#,
            #"planet_interface_receive_packets_total{interface="veth-b"} 11"#,
            #"planet_interface_receive_packets_total{interface="idle0"} 10"#,
            #"planet_interface_transmit_packets_total{interface="veth-a"} 21"#,
            #"planet_interface_transmit_packets_total{interface="veth-b"} 21"#,
            #"planet_interface_transmit_packets_total{interface="idle0"} 20"#,
            #"planet_interface_receive_drop_total{interface="veth-a"} 1"#,
            #"planet_interface_receive_drop_total{interface="veth-b"} 1"#,
            #"planet_interface_receive_drop_total{interface="idle0"} 1"#,
            #"planet_interface_transmit_drop_total{interface="veth-a"} 0"#,
            #"planet_interface_transmit_drop_total{interface="veth-b"} 0"#,
            #"planet_interface_transmit_drop_total{interface="idle0"} 0"#,
            #"planet_capture_packets_coverage_ratio{interface="veth-a"} 1"#,
            #"planet_capture_packets_coverage_ratio{interface="veth-b"} 0.5"#,
            #"planet_capture_wire_bytes_coverage_ratio{interface="veth-a"} 1"#,
            #"planet_capture_wire_bytes_coverage_ratio{interface="veth-b"} 0.25"#,
        ])
        #expect(writer.text.contains("# TYPE planet_interface_receive_bytes_total counter\n"))
        #expect(writer.text.contains("# TYPE planet_capture_packets_coverage_ratio gauge\n"))
    }

    @Test func noInterfacesNoFamilies() {
        var writer = ExpositionWriter()
        InterfaceCoverage.render([], into: &writer)
        #expect(writer.text.isEmpty)
    }

    @Test func theCaptureCollectorWritesThemAfterItsOwnCounters() {
        let baseline = InterfaceBaseline(index: 3, kernel: atStart, captured: CaptureCounters())
        let eth0 = captured(packets: 4, wireBytes: 400)
        let reading = CaptureReading(
            snapshot: TrafficSnapshot(), sources: [("eth0", eth0)], healthy: true,
            interfaces: [InterfaceCoverage(interface: "eth0", kernel: atStart, baseline: baseline, captured: eth0)])
        let collector = CaptureCollector(rendersTraffic: true, enrichment: { .none }) { reading }
        var writer = ExpositionWriter()
        #expect(collector.collect(into: &writer))
        let text = writer.text
        let own = text.range(of: #"planet_capture_wire_bytes_total{interface="eth0"} 400"#)
        let kernel = text.range(of: #"planet_interface_receive_bytes_total{interface="eth0"} 1000"#)
        #expect(own != nil && kernel != nil)
        if let own, let kernel { #expect(own.lowerBound < kernel.lowerBound) }
        // Nothing counted by the kernel since the baseline: no ratio yet.
        #expect(!text.contains("planet_capture_packets_coverage_ratio{"))
    }
}
