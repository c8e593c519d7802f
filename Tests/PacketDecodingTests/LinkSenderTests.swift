import Testing
@testable import PacketDecoding

/// What a frame's link-layer header tells of who put it on the link.
@Suite struct LinkSenderTests {
    func sender(_ linkType: LinkType, _ frame: [UInt8]) -> LinkSender {
        frame.withUnsafeBytes { linkType.sender(of: $0) }
    }

    @Test func ethernetNamesTheStationOrAGroup() {
        let frame = TestFrames.ethernet(type: 0x0800, payload: [0x45])
        #expect(sender(.ethernet, frame) == .station(0x02_00_00_00_00_01))
        #expect(sender(.ethernet, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + frame.dropFirst(6)) == .group)
        #expect(sender(.ethernet, [0x01, 0x00, 0x5E, 0, 0, 1] + frame.dropFirst(6)) == .group)
        #expect(sender(.ethernet, Array(frame.prefix(13))) == .unknown)
    }

    @Test func cookedCapturesTellTheDirection() {
        // Packet type 0 (to this host), 4 (outgoing); device type 1 (Ethernet), 772 (loopback).
        let v1 = TestFrames.sll(protocol: 0x0800, payload: [0x45])
        #expect(sender(.linuxSLL, v1) == .arriving)
        #expect(sender(.linuxSLL, TestFrames.be16(4) + v1.dropFirst(2)) == .leaving)
        #expect(sender(.linuxSLL, TestFrames.be16(4) + TestFrames.be16(772) + v1.dropFirst(4)) == .loopback)
        #expect(sender(.linuxSLL, Array(v1.prefix(15))) == .unknown)
        let v2 = TestFrames.sll2(protocol: 0x0800, payload: [0x45])
        #expect(sender(.linuxSLL2, v2) == .arriving)
        var leaving = v2
        leaving[10] = 4
        #expect(sender(.linuxSLL2, leaving) == .leaving)
        leaving[8] = 0x03
        leaving[9] = 0x04
        #expect(sender(.linuxSLL2, leaving) == .loopback)
        #expect(sender(.linuxSLL2, Array(v2.prefix(19))) == .unknown)
    }

    @Test func otherFramingsSayNothing() {
        for linkType in [LinkType.rawIP, .rawIPv4, .rawIPv6, .bsdLoopback, .nflog] {
            #expect(sender(linkType, [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]) == .unknown)
        }
    }
}
