import Testing
import TestSupport
@testable import NetAddress

/// An interface's own counters, read from sysfs.
@Suite struct InterfaceStatisticsTests {
    private let sysRoot = RepositoryFixtures.path("sysfs")

    @Test func readsTheSixCounters() throws {
        let statistics = try #require(InterfaceStatistics.read(interface: "veth-a", sysRoot: sysRoot))
        #expect(statistics == InterfaceStatistics(receiveBytes: 2546, transmitBytes: 3_004_460, receivePackets: 37,
                                                  transmitPackets: 66, receiveDropped: 0, transmitDropped: 1))
        #expect(statistics.packets == 103)
        #expect(statistics.bytes == 3_007_006)
    }

    @Test func anInterfaceWhoseCountersCannotBeReadHasNone() {
        #expect(InterfaceStatistics.read(interface: "bad0", sysRoot: sysRoot) == nil)  // text, and a missing file
        #expect(InterfaceStatistics.read(interface: "eth9", sysRoot: sysRoot) == nil)  // no such interface
        #expect(InterfaceStatistics.read(interface: "any", sysRoot: sysRoot) == nil)   // libpcap's pseudo-device
    }

    @Test func aNameCannotLeaveTheInterfaceDirectory() {
        // "../net/veth-a" would name the fixture's own counters through a path.
        for name in ["", ".", "..", "../net/veth-a", "veth-a/../veth-a"] {
            #expect(InterfaceStatistics.read(interface: name, sysRoot: sysRoot) == nil, "\(name)")
        }
    }

    @Test func parsesWhatTheKernelWrites() {
        #expect(InterfaceStatistics.parseCounter(Array("0\n".utf8)) == 0)
        #expect(InterfaceStatistics.parseCounter(Array("3004460\n".utf8)) == 3_004_460)
        #expect(InterfaceStatistics.parseCounter(Array("18446744073709551615\n".utf8)) == .max)
        #expect(InterfaceStatistics.parseCounter(Array("18446744073709551616\n".utf8)) == nil)
        #expect(InterfaceStatistics.parseCounter(Array("".utf8)) == nil)
        #expect(InterfaceStatistics.parseCounter(Array("\n".utf8)) == nil)
        #expect(InterfaceStatistics.parseCounter(Array("-1\n".utf8)) == nil)
        #expect(InterfaceStatistics.parseCounter(Array("12 34\n".utf8)) == nil)
    }

    @Test func loopbackOfThisHostHasCountersAndAnIndex() {
        #expect(InterfaceStatistics.read(interface: "lo") != nil)
        #expect(HostInterfaces.index(of: "lo") > 0)
        #expect(HostInterfaces.index(of: "pe-no-such-if") == 0)
    }
}
