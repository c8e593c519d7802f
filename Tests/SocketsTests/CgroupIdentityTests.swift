import Testing

@testable import Sockets

struct CgroupIdentityTests {
    static let docker = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
    static let podman = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
    static let other = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
    static let pod = "0b5e2f6a-1c3d-4e5f-8a9b-7c6d5e4f3a2b"
    static let unknownPod = "5d1c9e2a-7b3f-4a6e-9c8d-1e2f3a4b5c6d"

    /// Fixtures/sockets/host holds the runtimes' state for `docker`, `podman` and `pod`.
    static let names = ContainerNames(root: Fixtures.directory + "/host/")
    static let noNames = ContainerNames(root: Fixtures.directory + "/missing")

    struct Case: Sendable, CustomTestStringConvertible {
        var what: String
        var cgroup: String
        var identity: CgroupIdentity
        /// The label with the runtimes' state readable, and without.
        var named: String
        var unnamed: String
        var testDescription: String { what }
    }

    static func unit(_ what: String, _ cgroup: String, _ unit: String) -> Case {
        Case(what: what, cgroup: cgroup, identity: .unit(unit), named: unit, unnamed: unit)
    }

    static func container(_ what: String, _ cgroup: String, _ runtime: ContainerReference.Runtime, _ id: String,
                          pod: String? = nil, named: String) -> Case {
        Case(what: what, cgroup: cgroup, identity: .container(ContainerReference(runtime: runtime, id: id, podUID: pod)),
             named: named, unnamed: String(id.prefix(12)))
    }

    static let cases: [Case] = [
        unit("systemd service, cgroup v2", "0::/system.slice/nginx.service\n", "nginx.service"),
        unit("systemd scope", "0::/system.slice/app.scope\n", "app.scope"),
        unit("login session", "0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope"),
        unit("user unit", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app.service\n",
             "user@1000.service/app.service"),
        unit("user manager itself", "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
             "user@1000.service/init.scope"),
        unit("delegated subgroup of a service", "0::/system.slice/containerd.service/worker\n", "containerd.service"),
        unit("pid 1", "0::/init.scope\n", "init.scope"),
        unit("cgroup v1 hybrid: v2 says only /",
             "12:pids:/system.slice/postgresql@15-main.service\n11:memory:/system.slice/postgresql@15-main.service\n"
                 + "1:name=systemd:/system.slice/postgresql@15-main.service\n0::/\n",
             "postgresql@15-main.service"),
        unit("cgroup v1 hybrid: v2 deeper than /",
             "1:name=systemd:/system.slice/cron.service\n0::/system.slice/cron.service\n", "cron.service"),
        unit("cgroup v1 only", "4:memory:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n",
             "ssh.service"),
        Case(what: "root cgroup", cgroup: "0::/\n", identity: .none, named: "", unnamed: ""),
        Case(what: "root cgroup, hybrid", cgroup: "9:name=systemd:/\n8:pids:/\n0::/\n", identity: .none, named: "", unnamed: ""),
        Case(what: "slice without a unit", cgroup: "0::/system.slice\n", identity: .none, named: "", unnamed: ""),
        Case(what: "empty file", cgroup: "", identity: .none, named: "", unnamed: ""),
        container("docker, systemd driver", "0::/system.slice/docker-\(docker).scope\n", .docker, docker, named: "web-frontend"),
        container("docker, cgroupfs driver", "0::/docker/\(docker)\n", .docker, docker, named: "web-frontend"),
        container("docker, cgroup v1", "12:pids:/docker/\(docker)\n1:name=systemd:/docker/\(docker)\n0::/\n", .docker, docker,
                  named: "web-frontend"),
        container("docker without state", "0::/system.slice/docker-\(other).scope\n", .docker, other, named: String(other.prefix(12))),
        container("podman, rootful", "0::/machine.slice/libpod-\(podman).scope/container\n", .podman, podman, named: "billing-api"),
        container("podman, rootless",
                  "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(podman).scope\n", .podman, podman,
                  named: "billing-api"),
        container("podman, cgroupfs manager on cgroup v1",
                  "5:pids:/libpod_parent/libpod-\(podman)\n1:name=systemd:/libpod_parent/libpod-\(podman)\n0::/\n",
                  .podman, podman, named: "billing-api"),
        container("containerd, not in a pod", "0::/system.slice/cri-containerd-\(other).scope\n", .containerd, other,
                  named: String(other.prefix(12))),
        container("kubepods burstable, systemd driver",
                  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(pod.replacingOccurrences(of: "-", with: "_")).slice/cri-containerd-\(other).scope\n",
                  .containerd, other, pod: pod, named: "shop/checkout-7d9f8c6b5-x2kqp"),
        container("kubepods besteffort, cgroupfs driver", "0::/kubepods/besteffort/pod\(pod)/\(other)\n",
                  .kubernetes, other, pod: pod, named: "shop/checkout-7d9f8c6b5-x2kqp"),
        container("kubepods guaranteed, pod unknown to the kubelet dir",
                  "0::/kubepods.slice/kubepods-pod\(unknownPod.replacingOccurrences(of: "-", with: "_")).slice/cri-containerd-\(other).scope\n",
                  .containerd, other, pod: unknownPod, named: String(other.prefix(12))),
        container("cri-o", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(pod.replacingOccurrences(of: "-", with: "_")).slice/crio-\(other).scope\n",
                  .crio, other, pod: pod, named: "shop/checkout-7d9f8c6b5-x2kqp"),
    ]

    @Test(arguments: cases)
    func identityAndLabel(_ c: Case) {
        let identity = CgroupIdentity.parse(c.cgroup)
        #expect(identity == c.identity)
        #expect(identity.label(names: Self.names) == c.named)
        #expect(identity.label(names: Self.noNames) == c.unnamed)
    }

    @Test func shortIDIsTwelveDigits() {
        #expect(ContainerReference(runtime: .docker, id: Self.docker).shortID == "3f4e5a6b7c8d")
    }

    @Test func notAContainerIDStaysAUnit() {
        // A scope whose suffix is not a 64-digit ID is an ordinary unit.
        #expect(CgroupIdentity.parse("0::/system.slice/docker-compose-app.scope\n") == .unit("docker-compose-app.scope"))
        #expect(CgroupIdentity.parse("0::/docker/not-an-id\n") == .none)
    }
}

struct ProcessUnitReadingTests {
    @Test func theSocketTableReadingNamesEachOwnersUnit() throws {
        let units = ProcessUnitResolver(hostRoot: Fixtures.directory + "/host")
        let reader = SocketTableReader(procRoot: Fixtures.procRoot, units: units)
        let snapshot = try reader.read()
        func owner(_ inode: UInt64) -> (String?, String?) {
            let socket = snapshot.sockets.first { $0.entry.inode == inode }
            return (socket?.processName, socket?.processUnit)
        }
        #expect(owner(1001) == ("sshd", "ssh.service"))
        #expect(owner(2001) == ("nginx", "web-frontend"))
        #expect(owner(3001) == ("consul", "consul.service"))
        #expect(owner(4001) == ("consul-template", ""))
        #expect(owner(5001) == ("curl", "user@1000.service/fetch.service"))
        #expect(owner(6001) == ("resolver", ""))
        #expect(snapshot.processUnitsUncached == 0)
        // A second reading re-checks the owners instead of scanning: the units come back too.
        let again = try reader.read()
        #expect(again.sockets.map(\.processUnit) == snapshot.sockets.map(\.processUnit))
    }

    @Test func withoutAResolverNoUnitIsRead() throws {
        let snapshot = try SocketTableReader(procRoot: Fixtures.procRoot).read()
        #expect(snapshot.sockets.allSatisfy { $0.processUnit == nil })
    }

    @Test func pathsPastTheBoundAreCounted() {
        let units = ProcessUnitResolver(hostRoot: Fixtures.directory + "/missing", limit: 2)
        for name in ["a", "b", "c", "d", "a"] {
            #expect(units.label(cgroupFile: "0::/system.slice/\(name).service\n") == "\(name).service")
        }
        // a and b fit; c and d do not, each time they are read.
        #expect(units.uncached == 2)
        _ = units.label(cgroupFile: "0::/system.slice/c.service\n")
        #expect(units.uncached == 3)
    }
}
