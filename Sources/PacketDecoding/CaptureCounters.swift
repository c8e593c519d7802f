/// Counters of one capture source (an interface or a file): what libpcap handed over
/// and what became of it. A plain value beside `DecodeStatus`, so that what renders
/// them never links libpcap.
public struct CaptureCounters: Sendable, Equatable {
    /// Frames libpcap handed to the agent.
    public var packets: UInt64 = 0
    /// Frames that decoded to an IP packet.
    public var decoded: UInt64 = 0
    /// Frames that did not decode, by DecodeStatus raw value.
    public var undecoded: [UInt64] = [UInt64](repeating: 0, count: DecodeStatus.allCases.count)
    /// Packets dropped by the kernel or the interface (live only, from pcap_stats).
    public var kernelDropped: UInt64 = 0
    /// Packets dropped because the ring to the aggregator was full.
    public var ringDropped: UInt64 = 0

    public init() {}

    /// The sum of two sources' counters (an interface's earlier handles and its current one).
    public static func + (lhs: CaptureCounters, rhs: CaptureCounters) -> CaptureCounters {
        var total = lhs
        total.packets &+= rhs.packets
        total.decoded &+= rhs.decoded
        total.kernelDropped &+= rhs.kernelDropped
        total.ringDropped &+= rhs.ringDropped
        for index in total.undecoded.indices where index < rhs.undecoded.count {
            total.undecoded[index] &+= rhs.undecoded[index]
        }
        return total
    }
}
