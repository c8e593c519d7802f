import Foundation
import Synchronization
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

    /// Lowering and raising act on the calling thread alone: a thread of its own, so the
    /// test runner's threads keep what they have.
    @Test func effectiveCapabilitiesBelongToTheThread() throws {
        let bits: UInt64 = 1 << 2 | 1 << 19
        let result = Mutex<(permitted: UInt64, lowered: UInt64, raised: UInt64, main: UInt64)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let mainBefore = ProcessStatus.read().capEff
        Thread {
            defer { done.signal() }
            let before = ProcessStatus.read(thread: true)
            guard (try? Privileges.lowerEffective(Privileges.socketTableOnly)) != nil else { return }
            let lowered = ProcessStatus.read(thread: true).capEff
            Privileges.raiseEffective(Privileges.socketTableOnly)
            let raised = ProcessStatus.read(thread: true).capEff
            result.withLock { $0 = (before.capPrm, lowered, raised, ProcessStatus.read().capEff) }
        }.start()
        done.wait()
        let got = try #require(result.withLock { $0 })
        #expect(got.lowered & bits == 0)
        // Raised again as far as they are permitted (all of them as root, none otherwise).
        #expect(got.raised & bits == got.permitted & bits)
        // The main thread was not touched.
        #expect(got.main == mainBefore)
    }
}
