import Testing
@testable import Agent

@Suite struct PrivilegesTests {
    @Test func capabilitiesFollowTheEnabledTasks() {
        #expect(Capability.needed(captureEnabled: true, socketstatEnabled: true) == [.netRaw, .sysPtrace, .dacReadSearch])
        #expect(Capability.needed(captureEnabled: true, socketstatEnabled: false) == [.netRaw])
        #expect(Capability.needed(captureEnabled: false, socketstatEnabled: true) == [.sysPtrace, .dacReadSearch])
        #expect(Capability.needed(captureEnabled: false, socketstatEnabled: false) == [])
    }

    @Test func statusLinesAreRead() {
        let status = ProcessStatus.parse("""
            Name:\tplanet-exporter
            Uid:\t65534\t65534\t65534\t65534
            Gid:\t65534\t65534\t65534\t65534
            CapInh:\t0000000000000000
            CapPrm:\t0000000000082004
            CapEff:\t0000000000082004
            CapBnd:\t0000000000082004
            NoNewPrivs:\t1
            """)
        #expect(status.uids == [65534, 65534, 65534, 65534])
        #expect(status.gids == [65534, 65534, 65534, 65534])
        // CAP_DAC_READ_SEARCH (2), CAP_NET_RAW (13), CAP_SYS_PTRACE (19).
        #expect(status.capEff == 1 << 2 | 1 << 13 | 1 << 19)
        #expect(status.capPrm == status.capEff)
        #expect(status.noNewPrivs == true)
    }

    @Test func anUnknownUserIsRefusedBeforeAnythingChanges() {
        #expect(throws: PrivilegeError.self) { try Privileges.drop(to: "no-such-user-planet", keeping: []) }
        do {
            _ = try Privileges.drop(to: "no-such-user-planet", keeping: [])
        } catch {
            #expect(error.description == "-run-as-user no-such-user-planet: no such user")
        }
    }
}
