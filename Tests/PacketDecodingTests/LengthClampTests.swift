import NetAddress
import Testing

@testable import PacketDecoding

private typealias F = TestFrames

/// Length fields that claim more than the wire carried, and the byte tally of a source.
@Suite struct LengthClampTests {
    @Test func ipv4TotalLengthBeyondTheWireIsCutToIt() {
        // A 60-byte Ethernet frame claiming 65,535 IP bytes carried 46 after its header.
        let packet = F.ipv4(protocol: 17, payload: F.udp(source: 5353, destination: 5353, payload: 10), totalLength: 65_535)
        let frame = F.ethernet(type: 0x0800, payload: packet + [UInt8](repeating: 0, count: 60 - 14 - packet.count))
        let (status, summary) = F.decode(frame, linkType: .ethernet)
        #expect(status == .ok)
        #expect(summary.ipBytes == 46)
        #expect(summary.lengthClamped)
        #expect(summary.hasPorts && summary.sourcePort == 5353)
    }

    @Test func ipv6PayloadLengthBeyondTheWireIsCutToIt() {
        let packet = F.ipv6(nextHeader: 17, payload: F.udp(source: 1, destination: 2, payload: 4), payloadLength: 60_000)
        let (status, summary) = F.decode(F.sll(protocol: 0x86DD, payload: packet), linkType: .linuxSLL)
        #expect(status == .ok)
        #expect(summary.ipBytes == UInt32(packet.count))
        #expect(summary.lengthClamped)
    }

    @Test func aSnapLengthCutOrAnExactLengthIsNotClamped() {
        let whole = F.ethernet(type: 0x0800, payload: F.ipv4(
            protocol: 6, payload: F.tcp(source: 1234, destination: 80, flags: 0x10) + [UInt8](repeating: 7, count: 1400)))
        let (cutStatus, cut) = F.decode(Array(whole.prefix(64)), wireLength: whole.count, linkType: .ethernet)
        #expect(cutStatus == .ok && cut.ipBytes == 1440 && !cut.lengthClamped)
        let (_, exact) = F.decode(whole, linkType: .ethernet)
        #expect(exact.ipBytes == 1440 && !exact.lengthClamped)
        let v6 = F.ipv6(nextHeader: 17, payload: F.udp(source: 1, destination: 2, payload: 4))
        let (_, exact6) = F.decode(v6, linkType: .rawIPv6)
        #expect(exact6.ipBytes == UInt32(v6.count) && !exact6.lengthClamped)
    }

    @Test func tallyCountsWireBytesByOutcome() {
        var tally = CaptureTally()
        var ok = PacketSummary()
        ok.ipVersion = 4
        ok.ipBytes = 40
        tally.count(.ok, wireLength: 60, summary: ok)
        var clamped = ok
        clamped.ipVersion = 6
        clamped.lengthClamped = true
        tally.count(.ok, wireLength: 100, summary: clamped)
        tally.count(.notIP, wireLength: 42, summary: PacketSummary())
        tally.count(.truncated, wireLength: 1514, summary: PacketSummary())
        tally.count(.malformed, wireLength: 64, summary: PacketSummary())
        tally.count(.unsupportedLink, wireLength: 7, summary: PacketSummary())
        #expect(tally.wireBytes == 60 + 100 + 42 + 1514 + 64 + 7)
        #expect(tally.decodedWireBytes == 160)
        #expect(tally.decodedIPBytes == 80)
        #expect(DecodeStatus.allCases.map { tally.undecodedBytes($0) } == [0, 42, 1514, 64, 7])
        #expect(tally.wireBytes == tally.decodedWireBytes + DecodeStatus.allCases.reduce(0) { $0 + tally.undecodedBytes($1) })
        #expect(tally.clamped.map(\.packets) == [0, 1])
        #expect(tally.clamped.map(\.reason) == ["ipv4_total_length", "ipv6_payload_length"])
        let doubled = tally + tally
        #expect(doubled.wireBytes == 2 * tally.wireBytes && doubled.clampedIPv6 == 2 && doubled.truncatedBytes == 3028)
        var counters = CaptureCounters()
        counters.bytes = tally
        #expect((counters + counters).bytes == doubled)
    }
}

extension CaptureTally {
    /// `count` with the fields of `summary`, as the capture callback reads them.
    mutating func count(_ status: DecodeStatus, wireLength: UInt32, summary: PacketSummary) {
        count(status, wireLength: wireLength, ipBytes: summary.ipBytes, lengthClamped: summary.lengthClamped,
              ipVersion: summary.ipVersion)
    }
}
