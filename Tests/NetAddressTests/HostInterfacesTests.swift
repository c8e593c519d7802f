import Foundation
import Testing
@testable import NetAddress

/// Which interfaces the agent captures on when none are named.
@Suite struct HostInterfacesTests {
    private func interface(_ name: String, up: Bool = true, loopback: Bool = false, _ addresses: String...) -> HostInterface {
        HostInterface(name: name, isUp: up, isLoopback: loopback, addresses: addresses.map { IPAddress($0)! })
    }

    @Test func onlyInterfacesWithAnAddressBeyondLinkLocal() {
        let interfaces = [
            interface("lo", loopback: true, "127.0.0.1", "::1"),
            interface("eth0", "10.0.0.5", "fe80::1"),
            interface("docker0", "172.17.0.1"),
            interface("veth1a2b3c", "fe80::a:b:c"),             // a container's veth: link-local only
            interface("wg0", "fd00:1::5"),                        // IPv6 only, not link-local
            interface("eth1", up: false, "192.168.9.9"),
            interface("zero", "169.254.3.4"),                     // IPv4 link-local only
            interface("dummy0"),
        ]
        let selection = HostInterfaces.defaultCaptureInterfaces(from: interfaces)
        #expect(selection.selected == ["docker0", "eth0", "wg0"])
        #expect(selection.skipped.isEmpty)
    }

    @Test func theNumberIsBoundedInNameOrder() {
        let bridges = (0..<20).map { interface("br-\(String($0, radix: 16))", "172.18.\($0).1") }
        let selection = HostInterfaces.defaultCaptureInterfaces(from: bridges.reversed(), limit: 8)
        #expect(selection.selected.count == 8)
        #expect(selection.selected == selection.selected.sorted())
        #expect(selection.skipped.count == 12)
        #expect(Set(selection.selected + selection.skipped).count == 20)
    }

    /// The link-layer addresses read with getifaddrs are the ones the kernel shows in
    /// /sys/class/net (loopback's all-zero one excepted), and they come with the host's
    /// addresses.
    @Test func hardwareAddressesAreTheInterfacesOwn() throws {
        let interfaces = HostInterfaces.list()
        for interface in interfaces {
            let text = (try? String(contentsOfFile: "/sys/class/net/\(interface.name)/address", encoding: .utf8)) ?? ""
            let bytes = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt8($0, radix: 16) }
            let expected = bytes.count == 6 ? bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : nil
            #expect(interface.hardwareAddress == (expected == 0 ? nil : expected), "\(interface.name): \(text)")
        }
        #expect(interfaces.contains { $0.isLoopback && $0.hardwareAddress == nil })
        let local = HostInterfaces.localAddresses()
        #expect(local.hardwareAddresses == Array(Set(interfaces.compactMap(\.hardwareAddress))).sorted())
        #expect(local.addresses == Array(Set(interfaces.flatMap(\.addresses))).sorted())
    }
}
