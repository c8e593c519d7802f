import NetAddress
import Testing
@testable import Traffic

@Suite struct ServicePortsTests {
    @Test func portSetMembership() {
        let set = PortSet([0, 22, 65535])
        #expect(set.contains(0) && set.contains(22) && set.contains(65535))
        #expect(!set.contains(23))
        #expect(PortSet().isEmpty && !set.isEmpty)
    }

    @Test func parsesTheKernelsRange() {
        #expect(EphemeralPortRange(procText: "32768\t60999\n") == .linuxDefault)
        #expect(EphemeralPortRange(procText: "1024 65000") == EphemeralPortRange(lower: 1024, upper: 65000))
        #expect(EphemeralPortRange(procText: "garbage") == nil)
        #expect(EphemeralPortRange(procText: "1 2 3") == nil)
    }
}
