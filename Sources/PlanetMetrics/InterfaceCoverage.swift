import Exposition
import NetAddress
import PacketDecoding

/// Where the coverage of one interface counts from: the kernel's counters and the
/// capture's when capture on the interface started.
public struct InterfaceBaseline: Sendable, Equatable {
    /// The interface's index then: a different one later is a new interface of the same
    /// name, whose counters started again from zero.
    public var index: UInt32
    public var kernel: InterfaceStatistics
    /// planet_capture_packets_total and planet_capture_wire_bytes_total of the interface then.
    public var capturedPackets: UInt64
    public var capturedBytes: UInt64

    /// A baseline from the kernel's counters and the capture's at the same moment.
    public init(index: UInt32, kernel: InterfaceStatistics, captured: CaptureCounters) {
        self.index = index
        self.kernel = kernel
        self.capturedPackets = captured.packets
        self.capturedBytes = captured.bytes.wireBytes
    }

    /// Whether coverage still counts from this baseline when capture on the interface
    /// starts again with `index` and `kernel`: yes for the same interface, whose capture
    /// gap then shows as lost coverage; no for a new one.
    public func continues(index: UInt32, kernel: InterfaceStatistics) -> Bool {
        index == self.index && kernel.packets >= self.kernel.packets && kernel.bytes >= self.kernel.bytes
    }
}

/// One captured interface's own counters beside what the capture counted on it.
///
/// Coverage is what the capture counted divided by what the kernel counted on the
/// interface, received plus sent, since capture on it started: packets by packets,
/// the capture's wire bytes by the kernel's bytes. Both count whole frames with their
/// link-layer header and without the FCS, so on Ethernet and veth with nothing filtered
/// or dropped both ratios are exactly 1 (docs/metrics.md, "Interface counters").
public struct InterfaceCoverage: Sendable, Equatable {
    public var interface: String
    /// The kernel's counters now, as they are (since the interface was created).
    public var kernel: InterfaceStatistics
    /// What the kernel and the capture counted since the baseline; nil when the kernel's
    /// counters are below the baseline's (they cannot be compared).
    public var sinceStart: SinceStart?

    /// Counts since capture on the interface started.
    public struct SinceStart: Sendable, Equatable {
        /// Packets and bytes the kernel counted, received plus sent.
        public var kernelPackets: UInt64
        public var kernelBytes: UInt64
        /// Packets and wire bytes the capture counted.
        public var capturedPackets: UInt64
        public var capturedBytes: UInt64

        /// Counts from their values.
        public init(kernelPackets: UInt64, kernelBytes: UInt64, capturedPackets: UInt64, capturedBytes: UInt64) {
            self.kernelPackets = kernelPackets
            self.kernelBytes = kernelBytes
            self.capturedPackets = capturedPackets
            self.capturedBytes = capturedBytes
        }

        /// Captured packets per packet the kernel counted; nil before the kernel counted any.
        public var packetsRatio: Double? { Self.ratio(capturedPackets, kernelPackets) }
        /// Captured wire bytes per byte the kernel counted; nil before the kernel counted any.
        public var bytesRatio: Double? { Self.ratio(capturedBytes, kernelBytes) }

        static func ratio(_ part: UInt64, _ whole: UInt64) -> Double? {
            whole == 0 ? nil : Double(part) / Double(whole)
        }
    }

    /// The coverage of `interface` from its kernel counters now, its baseline and its
    /// capture counters now.
    public init(interface: String, kernel: InterfaceStatistics, baseline: InterfaceBaseline, captured: CaptureCounters) {
        self.interface = interface
        self.kernel = kernel
        let base = baseline.kernel
        if kernel.packets >= base.packets, kernel.bytes >= base.bytes,
           captured.packets >= baseline.capturedPackets, captured.bytes.wireBytes >= baseline.capturedBytes {
            sinceStart = SinceStart(kernelPackets: kernel.packets - base.packets, kernelBytes: kernel.bytes - base.bytes,
                                    capturedPackets: captured.packets - baseline.capturedPackets,
                                    capturedBytes: captured.bytes.wireBytes - baseline.capturedBytes)
        }
    }

    /// Writes the interfaces' kernel counters and coverage ratios; nothing without
    /// interfaces (replayed files). A ratio is left out while the kernel has counted
    /// nothing since capture started (it would be 0/0).
    public static func render(_ interfaces: [InterfaceCoverage], into writer: inout ExpositionWriter) {
        guard !interfaces.isEmpty else { return }
        let counters: [(name: String, help: String, value: (InterfaceStatistics) -> UInt64)] = [
            ("planet_interface_receive_bytes_total", "Bytes the interface received, as the kernel counts them (statistics/rx_bytes)", \.receiveBytes),
            ("planet_interface_transmit_bytes_total", "Bytes the interface sent, as the kernel counts them (statistics/tx_bytes)", \.transmitBytes),
            ("planet_interface_receive_packets_total", "Packets the interface received, as the kernel counts them (statistics/rx_packets)", \.receivePackets),
            ("planet_interface_transmit_packets_total", "Packets the interface sent, as the kernel counts them (statistics/tx_packets)", \.transmitPackets),
            ("planet_interface_receive_drop_total", "Received packets the kernel dropped (statistics/rx_dropped)", \.receiveDropped),
            ("planet_interface_transmit_drop_total", "Packets the interface could not send (statistics/tx_dropped)", \.transmitDropped),
        ]
        for counter in counters {
            writer.family(counter.name, help: counter.help + ", for each interface captured on", kind: .counter)
            for interface in interfaces {
                writer.sample(counter.name, labels: [("interface", interface.interface)], counter.value(interface.kernel))
            }
        }
        writer.family("planet_capture_packets_coverage_ratio", help: "Packets captured on the interface per packet it received or sent, since capture on it started", kind: .gauge)
        for interface in interfaces {
            if let ratio = interface.sinceStart?.packetsRatio {
                writer.sample("planet_capture_packets_coverage_ratio", ["interface": interface.interface], ratio)
            }
        }
        writer.family("planet_capture_wire_bytes_coverage_ratio", help: "Wire bytes captured on the interface per byte it received or sent, since capture on it started", kind: .gauge)
        for interface in interfaces {
            if let ratio = interface.sinceStart?.bytesRatio {
                writer.sample("planet_capture_wire_bytes_coverage_ratio", ["interface": interface.interface], ratio)
            }
        }
    }
}
