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
    /// Bytes of the same frames: wire bytes captured, decoded and undecoded, IP bytes.
    public var bytes = CaptureTally()
    /// DNS responses seen, for the names of peers.
    public var dns = DNSTally()
    /// Capture time of the latest decoded packet, microseconds since 1970, as of the last
    /// batch published (0: none yet): what replay times out TCP handshakes against.
    public var latestPacketMicros: UInt64 = 0

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
        total.bytes = lhs.bytes + rhs.bytes
        total.dns = lhs.dns + rhs.dns
        total.latestPacketMicros = max(lhs.latestPacketMicros, rhs.latestPacketMicros)
        return total
    }
}

/// The byte side of a capture source's counters, kept by the capture callback in place:
/// trivially copyable, so counting a frame touches no reference and allocates nothing.
///
/// For every source, `wireBytes` = `decodedWireBytes` + the undecoded bytes of every
/// reason, and the IP bytes of the decoded frames (`decodedIPBytes`) are what the
/// traffic counters, the unattributed bytes and the ring drops share among them.
@frozen
public struct CaptureTally: BitwiseCopyable, Sendable, Equatable {
    /// Wire bytes (the frames' length on the wire, not what the snap length kept) of every frame.
    public var wireBytes: UInt64 = 0
    /// Wire bytes of the frames that decoded to an IP packet.
    public var decodedWireBytes: UInt64 = 0
    /// IP bytes of the frames that decoded, as counted (after clamping).
    public var decodedIPBytes: UInt64 = 0
    /// Wire bytes of frames that did not decode, by reason.
    public var notIPBytes: UInt64 = 0
    public var truncatedBytes: UInt64 = 0
    public var malformedBytes: UInt64 = 0
    public var unsupportedLinkBytes: UInt64 = 0
    /// Decoded frames whose IPv4 total length, or IPv6 payload length, claimed more than
    /// the wire carried.
    public var clampedIPv4: UInt64 = 0
    public var clampedIPv6: UInt64 = 0
    /// IP bytes of decoded packets dropped because the ring to the aggregator was full.
    public var ringDroppedIPBytes: UInt64 = 0

    @inlinable
    public init() {}

    /// Counts one frame of `wireLength` bytes that decoded with `status` (and, for `.ok`,
    /// to a summary with these three fields). The fields, not the summary: the capture
    /// callback passing the summary the decoder has just written would copy all of it,
    /// and the copy's wide loads wait for the decoder's narrower stores to reach the cache.
    @inlinable
    public mutating func count(_ status: DecodeStatus, wireLength: UInt32, ipBytes: UInt32, lengthClamped: Bool,
                               ipVersion: UInt8) {
        let wire = UInt64(wireLength)
        wireBytes &+= wire
        switch status {
        case .ok:
            decodedWireBytes &+= wire
            decodedIPBytes &+= UInt64(ipBytes)
            if lengthClamped {
                if ipVersion == 4 { clampedIPv4 &+= 1 } else { clampedIPv6 &+= 1 }
            }
        case .notIP: notIPBytes &+= wire
        case .truncated: truncatedBytes &+= wire
        case .malformed: malformedBytes &+= wire
        case .unsupportedLink: unsupportedLinkBytes &+= wire
        }
    }

    /// Wire bytes of undecoded frames for one reason (0 for `.ok`).
    public func undecodedBytes(_ status: DecodeStatus) -> UInt64 {
        switch status {
        case .ok: 0
        case .notIP: notIPBytes
        case .truncated: truncatedBytes
        case .malformed: malformedBytes
        case .unsupportedLink: unsupportedLinkBytes
        }
    }

    /// The reasons a decoded frame's IP length was clamped, with the frames of each: the
    /// `reason` label of planet_capture_clamped_packets_total.
    public var clamped: [(reason: String, packets: UInt64)] {
        [("ipv4_total_length", clampedIPv4), ("ipv6_payload_length", clampedIPv6)]
    }

    /// The sum of two tallies.
    public static func + (lhs: CaptureTally, rhs: CaptureTally) -> CaptureTally {
        var total = lhs
        total.wireBytes &+= rhs.wireBytes
        total.decodedWireBytes &+= rhs.decodedWireBytes
        total.decodedIPBytes &+= rhs.decodedIPBytes
        total.notIPBytes &+= rhs.notIPBytes
        total.truncatedBytes &+= rhs.truncatedBytes
        total.malformedBytes &+= rhs.malformedBytes
        total.unsupportedLinkBytes &+= rhs.unsupportedLinkBytes
        total.clampedIPv4 &+= rhs.clampedIPv4
        total.clampedIPv6 &+= rhs.clampedIPv6
        total.ringDroppedIPBytes &+= rhs.ringDroppedIPBytes
        return total
    }
}
