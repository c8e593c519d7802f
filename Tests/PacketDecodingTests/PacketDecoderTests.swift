import NetAddress
import Testing

@testable import PacketDecoding

private typealias F = TestFrames

private let v4Source = IPAddress(ipv4: 0x0A00_0001)
private let v4Destination = IPAddress(ipv4: 0xC0A8_0102)
private let v6Source = IPAddress(bytes: F.v6Source)!
private let v6Destination = IPAddress(bytes: F.v6Destination)!

@Suite struct LinkTypeTests {
    @Test func mapsEveryPcapNumber() {
        let expected: [UInt32: LinkType] = [
            0: .bsdLoopback, 108: .bsdLoopback, 1: .ethernet, 12: .rawIP, 14: .rawIP, 101: .rawIP,
            228: .rawIPv4, 229: .rawIPv6, 113: .linuxSLL, 276: .linuxSLL2, 239: .nflog,
        ]
        for value in UInt32(0)...300 {
            #expect(LinkType(pcapLinkType: value) == expected[value], "link type \(value)")
        }
        #expect(LinkType(pcapLinkType: .max) == nil)
    }

    @Test func statusReasonsAreTheMetricLabels() {
        #expect(DecodeStatus.allCases.map(\.reason) == ["", "not_ip", "truncated", "malformed", "unsupported_link"])
    }

    @Test func summaryIsSmallAndTrivial() {
        #expect(MemoryLayout<PacketSummary>.stride == 88)
        #expect(_isPOD(PacketSummary.self))
    }
}

@Suite struct PacketDecoderTests {
    @Test func ethernetIPv4TCP() {
        let packet = F.ipv4(protocol: 6, payload: F.tcp(source: 43210, destination: 443, flags: 0x12))
        // Ethernet pads to 60 bytes; the padding is not IP bytes.
        let frame = F.ethernet(type: 0x0800, payload: packet + [0, 0, 0, 0, 0, 0])
        let (status, summary) = F.decode(frame, linkType: .ethernet)
        #expect(status == .ok)
        var expected = PacketSummary()
        expected.source = v4Source
        expected.destination = v4Destination
        expected.ipBytes = 40
        expected.sourcePort = 43210
        expected.destinationPort = 443
        expected.ipProtocol = 6
        expected.tcpFlags = 0x12
        expected.ipVersion = 4
        expected.hasPorts = true
        // The TCP header follows 14 + 20 bytes; the IP packet (not the padding) ends 20 later.
        expected.transportOffset = 34
        expected.transportEnd = 54
        expected.tcpFields = PacketSummary.tcpHeaderRead
        expected.tcpSequence = 1000
        expected.tcpWindow = 65535
        #expect(summary == expected)
    }

    /// Sequence, acknowledgment, window, the payload length from the IP length (the snap
    /// length cut the payload off), and the timestamps option after a NOP and a SACK-permitted.
    @Test func tcpHeaderFieldsAndTimestamps() {
        let options: [UInt8] = [1, 4, 2] + [8, 10] + F.be32(0xDEAD_BEEF) + F.be32(77) + [1, 1, 1]
        let header = F.be16(40000) + F.be16(443) + F.be32(0xFFFF_FFF0) + F.be32(12345) + [0x90, 0x18] + F.be16(0)
            + [0, 0, 0, 0] + options
        let packet = F.ipv4(protocol: 6, payload: header + [UInt8](repeating: 7, count: 300))
        // Captured up to the end of the options: the 300 bytes of data are not in the frame.
        let frame = Array(F.ethernet(type: 0x0800, payload: packet).prefix(14 + 20 + 36))
        let (status, summary) = F.decode(frame, wireLength: 14 + packet.count, linkType: .ethernet)
        #expect(status == .ok)
        #expect(summary.tcpFields == PacketSummary.tcpHeaderRead | PacketSummary.tcpTimestampsRead)
        #expect(summary.tcpSequence == 0xFFFF_FFF0)
        #expect(summary.tcpAcknowledgment == 12345)
        #expect(summary.tcpWindow == 0)
        #expect(summary.tcpPayload == 300)
        #expect(summary.tcpTSval == 0xDEAD_BEEF)
        #expect(summary.tcpTSecr == 77)
        // Cut inside the option: the header is read, the timestamps are not.
        let cut = Array(frame.prefix(14 + 20 + 28))
        let (_, partial) = F.decode(cut, wireLength: 14 + packet.count, linkType: .ethernet)
        #expect(partial.tcpFields == PacketSummary.tcpHeaderRead)
        #expect(partial.tcpTSval == 0)
        // A data offset below 5 words: nothing past the flags is trusted.
        var corrupt = frame
        corrupt[14 + 20 + 12] = 0x40
        let (_, bad) = F.decode(corrupt, wireLength: 14 + packet.count, linkType: .ethernet)
        #expect(bad.tcpFields == 0 && bad.tcpSequence == 0 && bad.tcpFlags == 0x18)
    }

    /// A SYN's window scale after its timestamps, as Linux sends them, capped at 14; the
    /// same option on a segment without SYN means nothing and is not read.
    @Test func windowScaleOfSyn() {
        func segment(flags: UInt8, shift: UInt8) -> PacketSummary {
            let options: [UInt8] = F.be16(0x0204) + F.be16(1460) + [4, 2] + [8, 10] + F.be32(5) + F.be32(0) + [1, 3, 3, shift]
            let header = F.be16(40000) + F.be16(443) + F.be32(1) + F.be32(0) + [0xA0, flags] + F.be16(64240)
                + [0, 0, 0, 0] + options
            let frame = F.ethernet(type: 0x0800, payload: F.ipv4(protocol: 6, payload: header))
            let (status, summary) = F.decode(frame, wireLength: frame.count, linkType: .ethernet)
            #expect(status == .ok)
            return summary
        }
        let syn = segment(flags: 0x02, shift: 7)
        #expect(syn.tcpFields == PacketSummary.tcpHeaderRead | PacketSummary.tcpTimestampsRead | PacketSummary.tcpWindowScaleRead)
        #expect(syn.tcpWindowShift == 7 && syn.tcpTSval == 5)
        #expect(segment(flags: 0x12, shift: 200).tcpWindowShift == 14)
        let ack = segment(flags: 0x10, shift: 7)
        #expect(ack.tcpFields == PacketSummary.tcpHeaderRead | PacketSummary.tcpTimestampsRead && ack.tcpWindowShift == 0)
    }

    @Test(arguments: [[], [0x8100], [0x88A8, 0x8100], [0x9100, 0x88A8, 0x8100, 0x8100]] as [[UInt16]])
    func vlanTagsAreSkipped(tags: [UInt16]) {
        let frame = F.ethernet(type: 0x0800, tags: tags, payload: F.ipv4(protocol: 17, payload: F.udp(source: 5353, destination: 53, payload: 10)))
        let (status, summary) = F.decode(frame, linkType: .ethernet)
        #expect(status == .ok)
        #expect(summary.ipBytes == 38)
        #expect(summary.ipProtocol == 17)
        #expect(summary.hasPorts && summary.sourcePort == 5353 && summary.destinationPort == 53)
        #expect(summary.tcpFlags == 0)
        // Cut inside the last tag: the EtherType of the IP packet was never captured.
        let cut = Array(frame.prefix(12 + 4 * tags.count + 1))
        #expect(F.decode(cut, linkType: .ethernet).0 == .truncated)
    }

    @Test func nonIPAndShortFrames() {
        #expect(F.decode(F.ethernet(type: 0x0806, payload: [UInt8](repeating: 0, count: 28)), linkType: .ethernet).0 == .notIP)
        #expect(F.decode(F.ethernet(type: 0x0000, payload: [UInt8](repeating: 0, count: 46)), linkType: .ethernet).0 == .notIP)
        #expect(F.decode([UInt8](repeating: 0, count: 13), linkType: .ethernet).0 == .truncated)
        #expect(F.decode(F.ethernet(type: 0x0800, payload: []), linkType: .ethernet).0 == .truncated)
        #expect(F.decode([], linkType: .rawIP).0 == .truncated)
        var summary = PacketSummary()
        #expect(PacketDecoder.decode(UnsafeRawBufferPointer(start: nil, count: 0), wireLength: 0, linkType: .ethernet, into: &summary) == .truncated)
    }

    @Test func versionMustMatchTheLinkLayer() {
        let v6 = F.ipv6(nextHeader: 59, payload: [])
        let v4 = F.ipv4(protocol: 1, payload: [])
        #expect(F.decode(F.ethernet(type: 0x0800, payload: v6), linkType: .ethernet).0 == .malformed)
        #expect(F.decode(F.ethernet(type: 0x86DD, payload: v4), linkType: .ethernet).0 == .malformed)
        #expect(F.decode(v6, linkType: .rawIPv4).0 == .malformed)
        #expect(F.decode(v4, linkType: .rawIPv6).0 == .malformed)
        var version5 = v4
        version5[0] = 0x55
        #expect(F.decode(version5, linkType: .rawIP).0 == .malformed)
    }

    @Test func ipv4HeaderLengthChecks() {
        var shortHeader = F.ipv4(protocol: 6, payload: F.tcp(source: 1, destination: 2, flags: 2))
        shortHeader[0] = 0x44
        #expect(F.decode(shortHeader, linkType: .rawIP).0 == .malformed)
        let totalBelowHeader = F.ipv4(protocol: 6, payload: [], options: 2, totalLength: 24)
        #expect(F.decode(totalBelowHeader, linkType: .rawIP).0 == .malformed)
        // Length 0 (segmentation offload) with a wire length shorter than the header.
        let zeroTotal = F.ipv4(protocol: 6, payload: [], options: 10, totalLength: 0)
        #expect(F.decode(Array(zeroTotal.prefix(20)), wireLength: 30, linkType: .rawIP).0 == .malformed)
    }

    @Test(arguments: [0, 1, 10])
    func ipv4OptionsAreSkipped(words: Int) {
        let packet = F.ipv4(protocol: 6, payload: F.tcp(source: 22, destination: 50000, flags: 0x18), options: words)
        let (status, summary) = F.decode(packet, linkType: .rawIPv4)
        #expect(status == .ok)
        #expect(summary.ipBytes == UInt32(40 + 4 * words))
        #expect(summary.sourcePort == 22 && summary.destinationPort == 50000 && summary.tcpFlags == 0x18)
    }

    @Test func ipv4Fragments() {
        let udp = F.udp(source: 4000, destination: 5000, payload: 1472)
        let first = F.ipv4(protocol: 17, payload: Array(udp.prefix(1480)), identification: 0xBEEF, moreFragments: true)
        let (firstStatus, firstSummary) = F.decode(first, linkType: .rawIP)
        #expect(firstStatus == .ok)
        #expect(firstSummary.isFragment && firstSummary.isFirstFragment)
        #expect(firstSummary.fragmentID == 0xBEEF && firstSummary.ipBytes == 1500)
        #expect(firstSummary.hasPorts && firstSummary.sourcePort == 4000 && firstSummary.destinationPort == 5000)

        let last = F.ipv4(protocol: 17, payload: Array(udp.suffix(from: 1480)), identification: 0xBEEF, fragmentOffset: 185)
        let (lastStatus, lastSummary) = F.decode(last, linkType: .rawIP)
        #expect(lastStatus == .ok)
        #expect(lastSummary.isFragment && !lastSummary.isFirstFragment)
        #expect(lastSummary.fragmentID == 0xBEEF && lastSummary.ipBytes == 20)
        #expect(lastSummary.ipProtocol == 17 && !lastSummary.hasPorts && lastSummary.sourcePort == 0)

        // Don't-fragment alone is not a fragment.
        var whole = F.ipv4(protocol: 17, payload: F.udp(source: 1, destination: 2))
        whole[6] = 0x40
        let (_, wholeSummary) = F.decode(whole, linkType: .rawIP)
        #expect(!wholeSummary.isFragment && wholeSummary.fragmentID == 0 && wholeSummary.hasPorts)
    }

    @Test func zeroLengthFieldsFallBackToTheWireLength() {
        let v4 = F.ipv4(protocol: 6, payload: F.tcp(source: 1, destination: 2, flags: 0x10), totalLength: 0)
        let (status4, summary4) = F.decode(F.ethernet(type: 0x0800, payload: v4), wireLength: 14 + 64_000, linkType: .ethernet)
        #expect(status4 == .ok && summary4.ipBytes == 64_000 && summary4.hasPorts)
        let v6 = F.ipv6(nextHeader: 6, payload: F.tcp(source: 1, destination: 2, flags: 0x10), payloadLength: 0)
        let (status6, summary6) = F.decode(F.sll2(protocol: 0x86DD, payload: v6), wireLength: 20 + 150_000, linkType: .linuxSLL2)
        #expect(status6 == .ok && summary6.ipBytes == 150_000 && summary6.hasPorts)
        // A wire length below the captured length (a corrupt record) counts what was captured.
        let (_, summaryShort) = F.decode(v4, wireLength: 10, linkType: .rawIP)
        #expect(summaryShort.ipBytes == 40)
    }

    @Test func snaplenCutKeepsTheFullLength() {
        let frame = F.ethernet(type: 0x0800, payload: F.ipv4(protocol: 6, payload: F.tcp(source: 1234, destination: 80, flags: 2) + [UInt8](repeating: 7, count: 1400)))
        // Addresses end at 34; ports at 38; TCP flags at 48.
        for length in 0...60 {
            let (status, summary) = F.decode(Array(frame.prefix(length)), wireLength: frame.count, linkType: .ethernet)
            if length < 34 {
                #expect(status == .truncated, "cut at \(length)")
                continue
            }
            #expect(status == .ok, "cut at \(length)")
            #expect(summary.ipBytes == 1440)
            #expect(summary.source == v4Source && summary.destination == v4Destination)
            #expect(summary.hasPorts == (length >= 38), "cut at \(length)")
            #expect(summary.tcpFlags == (length >= 48 ? 2 : 0), "cut at \(length)")
        }
    }

    @Test func ipv6PlainUDPAndICMPv6() {
        let (status, summary) = F.decode(F.ethernet(type: 0x86DD, payload: F.ipv6(nextHeader: 17, payload: F.udp(source: 546, destination: 547, payload: 20))), linkType: .ethernet)
        #expect(status == .ok)
        var expected = PacketSummary()
        expected.source = v6Source
        expected.destination = v6Destination
        expected.ipBytes = 68
        expected.sourcePort = 546
        expected.destinationPort = 547
        expected.ipProtocol = 17
        expected.ipVersion = 6
        expected.hasPorts = true
        expected.transportOffset = 54
        expected.transportEnd = 82
        #expect(summary == expected)

        let (icmpStatus, icmp) = F.decode(F.ipv6(nextHeader: 58, payload: [128, 0, 0, 0, 0, 1, 0, 1]), linkType: .rawIPv6)
        #expect(icmpStatus == .ok && icmp.ipProtocol == 58 && !icmp.hasPorts && icmp.ipBytes == 48)
    }

    @Test func ipv6ExtensionChainToTCP() {
        let payload = F.extensionHeader(next: 43, units: 1) + F.extensionHeader(next: 51) + F.authenticationHeader(next: 60, icvWords: 3)
            + F.extensionHeader(next: 6, units: 2) + F.tcp(source: 50001, destination: 8443, flags: 0x11)
        let packet = F.ipv6(nextHeader: 0, payload: payload)
        let (status, summary) = F.decode(F.ethernet(type: 0x86DD, tags: [0x8100], payload: packet), linkType: .ethernet)
        #expect(status == .ok)
        #expect(summary.ipProtocol == 6 && summary.ipBytes == UInt32(packet.count))
        #expect(summary.sourcePort == 50001 && summary.destinationPort == 8443 && summary.tcpFlags == 0x11)
        #expect(!summary.isFragment)
    }

    @Test func ipv6Fragments() {
        let first = F.ipv6(nextHeader: 44, payload: F.fragmentHeader(next: 17, offset: 0, more: true, identification: 0x8000_0001) + F.udp(source: 7, destination: 9, payload: 100))
        let (firstStatus, firstSummary) = F.decode(first, linkType: .rawIP)
        #expect(firstStatus == .ok && firstSummary.isFragment && firstSummary.isFirstFragment)
        #expect(firstSummary.fragmentID == 0x8000_0001 && firstSummary.hasPorts && firstSummary.destinationPort == 9)

        let later = F.ipv6(nextHeader: 0, payload: F.extensionHeader(next: 44) + F.fragmentHeader(next: 17, offset: 14, more: true, identification: 42) + [UInt8](repeating: 9, count: 112))
        let (laterStatus, laterSummary) = F.decode(later, linkType: .rawIP)
        #expect(laterStatus == .ok && laterSummary.isFragment && !laterSummary.isFirstFragment)
        #expect(laterSummary.fragmentID == 42 && laterSummary.ipProtocol == 17 && !laterSummary.hasPorts)
        #expect(laterSummary.ipBytes == 40 + 8 + 8 + 112)

        // An atomic fragment (offset 0, no more fragments) is a whole datagram.
        let atomic = F.ipv6(nextHeader: 44, payload: F.fragmentHeader(next: 6, offset: 0, more: false, identification: 5) + F.tcp(source: 1, destination: 2, flags: 4))
        let (_, atomicSummary) = F.decode(atomic, linkType: .rawIP)
        #expect(!atomicSummary.isFragment && atomicSummary.fragmentID == 0 && atomicSummary.hasPorts && atomicSummary.tcpFlags == 4)
    }

    @Test(arguments: [50, 59] as [UInt8])
    func ipv6WalkStopsAtESPAndNoNextHeader(next: UInt8) {
        let packet = F.ipv6(nextHeader: 60, payload: F.extensionHeader(next: next) + [UInt8](repeating: 0, count: 24))
        let (status, summary) = F.decode(packet, linkType: .rawIP)
        #expect(status == .ok && summary.ipProtocol == next && !summary.hasPorts && summary.ipBytes == 72)
    }

    @Test func ipv6ExtensionHeaderPastThePayloadIsMalformed() {
        // Routing header claims 24 bytes; the payload length says 16.
        let packet = F.ipv6(nextHeader: 43, payload: F.extensionHeader(next: 6, units: 2), payloadLength: 16)
        #expect(F.decode(packet, linkType: .rawIP).0 == .malformed)
        let fragment = F.ipv6(nextHeader: 44, payload: Array(F.fragmentHeader(next: 6, offset: 0, more: true, identification: 1).prefix(4)))
        #expect(F.decode(fragment, linkType: .rawIP).0 == .malformed)
    }

    @Test func ipv6ChainCutBySnaplen() {
        let packet = F.ipv6(nextHeader: 0, payload: F.extensionHeader(next: 43, units: 1) + F.extensionHeader(next: 6) + F.tcp(source: 1, destination: 2, flags: 2))
        // Cut inside the routing header: the walk stops there and reports its number.
        let (status, summary) = F.decode(Array(packet.prefix(40 + 16 + 1)), wireLength: packet.count, linkType: .rawIP)
        #expect(status == .ok && summary.ipProtocol == 43 && !summary.hasPorts && summary.ipBytes == UInt32(packet.count))
        let (cutStatus, cutSummary) = F.decode(Array(packet.prefix(40 + 16 + 8 + 3)), wireLength: packet.count, linkType: .rawIP)
        #expect(cutStatus == .ok && cutSummary.ipProtocol == 6 && !cutSummary.hasPorts)
        #expect(F.decode(Array(packet.prefix(39)), wireLength: packet.count, linkType: .rawIP).0 == .truncated)
    }

    @Test(arguments: [(2, 4), (10, 6), (24, 6), (28, 6), (30, 6)] as [(UInt32, Int)])
    func bsdLoopbackFamiliesInBothByteOrders(family: UInt32, version: Int) {
        let packet = version == 4
            ? F.ipv4(protocol: 17, payload: F.udp(source: 9, destination: 10))
            : F.ipv6(nextHeader: 17, payload: F.udp(source: 9, destination: 10))
        for bigEndian in [false, true] {
            let (status, summary) = F.decode(F.bsdLoopback(family: family, bigEndian: bigEndian, payload: packet), linkType: .bsdLoopback)
            #expect(status == .ok)
            #expect(Int(summary.ipVersion) == version && summary.ipBytes == UInt32(packet.count))
            #expect(summary.sourcePort == 9 && summary.destinationPort == 10)
        }
        // Family and version disagree.
        let other = version == 4 ? F.ipv6(nextHeader: 59, payload: []) : F.ipv4(protocol: 1, payload: [])
        #expect(F.decode(F.bsdLoopback(family: family, bigEndian: false, payload: other), linkType: .bsdLoopback).0 == .malformed)
    }

    @Test func bsdLoopbackOtherFamiliesAreNotIP() {
        let packet = F.ipv4(protocol: 1, payload: [])
        #expect(F.decode(F.bsdLoopback(family: 7, bigEndian: false, payload: packet), linkType: .bsdLoopback).0 == .notIP)
        #expect(F.decode([2, 0, 0], linkType: .bsdLoopback).0 == .truncated)
        #expect(F.decode([2, 0, 0, 0], linkType: .bsdLoopback).0 == .truncated)
    }

    @Test func rawIPTakesTheVersionNibble() {
        let (v4Status, v4) = F.decode(F.ipv4(protocol: 1, payload: [8, 0, 0, 0]), linkType: .rawIP)
        #expect(v4Status == .ok && v4.ipVersion == 4 && v4.source == v4Source && v4.ipProtocol == 1 && !v4.hasPorts)
        let (v6Status, v6) = F.decode(F.ipv6(nextHeader: 6, payload: F.tcp(source: 1, destination: 2, flags: 1)), linkType: .rawIP)
        #expect(v6Status == .ok && v6.ipVersion == 6 && v6.destination == v6Destination && v6.tcpFlags == 1)
    }

    @Test func linuxCookedCaptures() {
        let v4 = F.ipv4(protocol: 6, payload: F.tcp(source: 1, destination: 2, flags: 2))
        let v6 = F.ipv6(nextHeader: 17, payload: F.udp(source: 3, destination: 4))
        let cases: [([UInt8], LinkType, UInt8)] = [
            (F.sll(protocol: 0x0800, payload: v4), .linuxSLL, 4),
            (F.sll(protocol: 0x86DD, payload: v6), .linuxSLL, 6),
            (F.sll(protocol: 0x8100, payload: F.be16(7) + F.be16(0x0800) + v4), .linuxSLL, 4),
            (F.sll2(protocol: 0x0800, payload: v4), .linuxSLL2, 4),
            (F.sll2(protocol: 0x86DD, payload: v6), .linuxSLL2, 6),
            (F.sll2(protocol: 0x88A8, payload: F.be16(7) + F.be16(0x86DD) + v6), .linuxSLL2, 6),
        ]
        for (frame, linkType, version) in cases {
            let (status, summary) = F.decode(frame, linkType: linkType)
            #expect(status == .ok, "\(linkType) v\(version)")
            #expect(summary.ipVersion == version && summary.hasPorts)
            #expect(summary.ipBytes == UInt32(version == 4 ? v4.count : v6.count))
        }
        #expect(F.decode(F.sll(protocol: 0x0806, payload: [UInt8](repeating: 0, count: 28)), linkType: .linuxSLL).0 == .notIP)
        #expect(F.decode(F.sll2(protocol: 0x0004, payload: [0, 0, 0]), linkType: .linuxSLL2).0 == .notIP)
        #expect(F.decode(Array(F.sll(protocol: 0x0800, payload: v4).prefix(15)), linkType: .linuxSLL).0 == .truncated)
        #expect(F.decode(Array(F.sll2(protocol: 0x0800, payload: v4).prefix(19)), linkType: .linuxSLL2).0 == .truncated)
    }

    /// NFLOG (`tcpdump -i nflog:N`): the packet is found among the attributes whatever the
    /// capturing host's byte order, its length is the packet's (not the frame's), and a
    /// frame without it, or with an attribute of impossible length, is counted, not read.
    @Test func netfilterLogCaptures() {
        let v4 = F.ipv4(protocol: 6, payload: F.tcp(source: 1, destination: 2, flags: 2))
        let v6 = F.ipv6(nextHeader: 17, payload: F.udp(source: 3, destination: 4, payload: 3))
        for bigEndian in [false, true] {
            for (family, packet, version) in [(UInt8(2), v4, UInt8(4)), (UInt8(10), v6, UInt8(6))] {
                let frame = F.nflog(family: family, bigEndian: bigEndian, payload: packet)
                let (status, summary) = F.decode(frame, linkType: .nflog)
                #expect(status == .ok, "v\(version) big-endian \(bigEndian)")
                #expect(summary.ipVersion == version && summary.hasPorts && summary.ipBytes == UInt32(packet.count))
                // Cut by the snap length after the ports: still the packet's whole length.
                let packetStart = frame.count - (4 - packet.count % 4) % 4 - packet.count
                let (cut, cutSummary) = F.decode(Array(frame.prefix(packetStart + (version == 4 ? 24 : 44))),
                                                 wireLength: frame.count, linkType: .nflog)
                #expect(cut == .ok && cutSummary.ipBytes == UInt32(packet.count))
            }
        }
        let frame = F.nflog(family: 2, payload: v4)
        #expect(F.decode(Array(frame.prefix(20)), linkType: .nflog).0 == .truncated, "ends before the packet attribute")
        #expect(F.decode([7, 0, 0, 5] + frame.dropFirst(4), linkType: .nflog).0 == .notIP, "family neither IPv4 nor IPv6")
        #expect(F.decode([2, 0, 0, 5, 2, 0, 9, 0] + v4, linkType: .nflog).0 == .malformed, "attribute of length 2")
        #expect(F.decode(F.nflog(family: 10, payload: v4), linkType: .nflog).0 == .malformed, "family and packet disagree")
        // A packet attribute too short for the IP header it holds.
        var short = F.nflog(family: 2, payload: v4)
        short[short.count - v4.count - 4] = 20
        #expect(F.decode(short, linkType: .nflog).0 == .malformed, "packet attribute shorter than its IP header")
    }
}
