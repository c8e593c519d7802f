import Foundation
import NetAddress
import Testing

@testable import Sockets

struct SocketTableReaderTests {
    @Test func readsFixtureTreeWithProcessNames() throws {
        let snapshot = try SocketTableReader(procRoot: Fixtures.procRoot + "/").read()
        #expect(snapshot.sockets.count == 16)
        func name(_ inode: UInt64) -> String? {
            snapshot.sockets.first { $0.entry.inode == inode }?.processName
        }
        #expect(name(1001) == "sshd")
        #expect(name(1002) == "sshd")
        // Shared with pid 102: the lowest pid names it.
        #expect(name(1003) == "sshd")
        #expect(name(2001) == "nginx")
        #expect(name(3004) == "consul")
        #expect(name(4001) == "consul-template")
        #expect(name(6001) == "resolver")
        #expect(snapshot.sockets.filter { $0.entry.inode == 0 }.allSatisfy { $0.processName == nil })
        // pid 808 has no fd directory, as when a process exits mid-scan.
        #expect(snapshot.skippedProcesses == 1)
        #expect(snapshot.skippedDescriptors == 0)
    }

    @Test func automaticSourceUsesFilesForAFixtureRoot() throws {
        let table = try SocketTableReader(procRoot: Fixtures.procRoot).readTable()
        let files = try SocketTableReader(procRoot: Fixtures.procRoot, source: .procfs).readTable()
        #expect(table == files)
        #expect(table.map(\.protocol) == Array(repeating: .tcp, count: 14) + [.udp, .udp])
    }

    @Test func missingRootIsAOneLineError() {
        let error = #expect(throws: SocketTableError.self) {
            try SocketTableReader(procRoot: "/nonexistent-proc").read()
        }
        #expect(error?.description == "cannot open /nonexistent-proc/net/tcp: No such file or directory")
    }

    /// A reader re-checks the owners it found while the sockets stay the same: renamed
    /// and moved owners must still be seen.
    @Test func laterReadingsSeeRenamedAndMovedOwners() throws {
        let files = FileManager.default
        let root = files.temporaryDirectory.appendingPathComponent("pe-owners-\(UUID().uuidString)").path
        try files.copyItem(atPath: Fixtures.procRoot, toPath: root)
        defer { try? files.removeItem(atPath: root) }
        let reader = SocketTableReader(procRoot: root)
        func name(_ snapshot: SocketSnapshot, _ inode: UInt64) -> String? {
            snapshot.sockets.first { $0.entry.inode == inode }?.processName
        }
        #expect(name(try reader.read(), 2001) == "nginx")

        try "nginx-reloaded\n".write(toFile: root + "/202/comm", atomically: false, encoding: .utf8)
        let renamed = try reader.read()
        #expect(name(renamed, 2001) == "nginx-reloaded")
        #expect(name(renamed, 1003) == "sshd")
        #expect(renamed.skippedProcesses == 1)

        try files.removeItem(atPath: root + "/202/fd/6")
        try files.createSymbolicLink(atPath: root + "/404/fd/8", withDestinationPath: "socket:[2001]")
        let moved = try reader.read()
        #expect(name(moved, 2001) == "consul-template")
        #expect(moved.sockets == (try SocketTableReader(procRoot: root).read().sockets))
    }

    @Test func socketInodeReadsOnlySocketLinks() {
        func inode(_ text: String) -> UInt64? {
            Array(text.utf8).withUnsafeBufferPointer { ProcessScanner.socketInode($0) }
        }
        #expect(inode("socket:[123456]") == 123456)
        #expect(inode("socket:[1]") == 1)
        #expect(inode("socket:[]") == nil)
        #expect(inode("pipe:[123]") == nil)
        #expect(inode("socket:[12a]") == nil)
        #expect(inode("socket:[123") == nil)
        #expect(inode("/dev/null") == nil)
    }
}

/// Real sockets opened by the test process, found again in the live /proc.
struct LiveSocketTableTests {
    private static func ownComm() throws -> String {
        try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
    }

    @Test(arguments: [SocketTableReader.Source.netlink, .procfs])
    func findsOwnTCPAndUDPSocketsOnLoopback(source: SocketTableReader.Source) throws {
        var sockets = LoopbackSockets()
        defer { sockets.closeAll() }
        let v4 = try sockets.tcpPair(ipv6: false)
        let v6 = try sockets.tcpPair(ipv6: true)
        let udp4 = try sockets.udpBound(ipv6: false)
        let udp6 = try sockets.udpBound(ipv6: true)
        let udpConnected = try sockets.udpConnected(to: udp4)

        let snapshot = try SocketTableReader(source: source).read()
        let comm = try Self.ownComm()
        // By address too: 127.0.0.1 and ::1 (and the suites running beside this one) can
        // have a socket on the same port number.
        func find(_ proto: TransportProtocol, _ state: SocketState, _ address: IPAddress, _ port: UInt16,
                  remote: UInt16 = 0) -> OwnedSocket? {
            snapshot.sockets.first {
                $0.entry.protocol == proto && $0.entry.state == state && $0.entry.localAddress == address
                    && $0.entry.localPort == port && (remote == 0 || $0.entry.remotePort == remote)
            }
        }
        for pair in [v4, v6] {
            let listener = try #require(find(.tcp, .listen, pair.address, pair.serverPort))
            #expect(listener.processName == comm)
            let accepted = try #require(find(.tcp, .established, pair.address, pair.serverPort, remote: pair.clientPort))
            #expect(accepted.processName == comm)
            let client = try #require(find(.tcp, .established, pair.address, pair.clientPort, remote: pair.serverPort))
            #expect(client.processName == comm)
            #expect(client.entry.remoteAddress == pair.address)
            #expect(snapshot.isListening(.tcp, pair.serverPort))
            #expect(snapshot.listener(protocol: .tcp, localAddress: pair.address, localPort: pair.serverPort)?.name == comm)
        }
        for bound in [udp4, udp6] {
            let socket = try #require(find(.udp, .listen, bound.address, bound.port))
            #expect(socket.processName == comm)
            // Bound by the kernel to an ephemeral port and unconnected: a sendto client by
            // the rule of docs/sockets.md, not a server.
            #expect(snapshot.ephemeralPorts.contains(bound.port))
            #expect(snapshot.udpUnconnectedEphemeral.contains(bound.port))
            #expect(!snapshot.isListening(.udp, bound.port))
        }
        let connected = try #require(find(.udp, .established, udp4.address, udpConnected.port, remote: udp4.port))
        #expect(connected.processName == comm)
        #expect(!snapshot.isListening(.udp, udpConnected.port))

        let report = DependencyReport(snapshot: snapshot, hostAddress: IPAddress("192.0.2.1")!)
        #expect(report.downstreams.contains(DependencyEdge(
            localAddress: IPAddress("192.0.2.1")!, remoteAddress: v4.address, port: v4.serverPort,
            protocol: .tcp, processName: comm)))
        #expect(!report.upstreams.contains { $0.port == v4.serverPort })
    }

    @Test func findsSocketHeldOnlyAtAHighDescriptorNumber() throws {
        var sockets = LoopbackSockets()
        defer { sockets.closeAll() }
        // Far past the process's descriptor count, where only the directory listing sees it.
        let bound = try sockets.udpBound(ipv6: false, movedTo: 900)
        let snapshot = try SocketTableReader().read()
        let socket = try #require(snapshot.sockets.first { $0.entry.protocol == .udp && $0.entry.localPort == bound.port })
        #expect(socket.processName == (try Self.ownComm()))
    }

    @Test func netlinkAndProcfsAgree() throws {
        var sockets = LoopbackSockets()
        defer { sockets.closeAll() }
        _ = try sockets.tcpPair(ipv6: false)
        _ = try sockets.udpBound(ipv6: true)
        // Sockets of other processes may come and go between the two reads; compare ours.
        func own(_ source: SocketTableReader.Source) throws -> Set<SocketEntry> {
            let inodes = Set(sockets.inodes())
            return Set(try SocketTableReader(source: source).readTable().filter { inodes.contains($0.inode) })
        }
        let netlink = try own(.netlink)
        #expect(netlink.count == 4)
        #expect(netlink == (try own(.procfs)))
    }
}

/// Sockets on 127.0.0.1 and ::1 held open for one test, closed by `closeAll`.
struct LoopbackSockets {
    struct Pair {
        var address: IPAddress
        var serverPort: UInt16
        var clientPort: UInt16
    }

    struct Bound {
        var address: IPAddress
        var port: UInt16
    }

    private(set) var descriptors: [Int32] = []

    mutating func closeAll() {
        for fd in descriptors { close(fd) }
        descriptors.removeAll()
    }

    func inodes() -> [UInt64] {
        descriptors.compactMap { fd in
            var info = stat()
            return fstat(fd, &info) == 0 ? UInt64(info.st_ino) : nil
        }
    }

    mutating func tcpPair(ipv6: Bool) throws -> Pair {
        let listener = try open(ipv6: ipv6, type: SOCK_STREAM)
        try bindLoopback(listener, ipv6: ipv6)
        try check(listen(listener, 4), "listen")
        let server = try Self.port(of: listener)
        let client = try open(ipv6: ipv6, type: SOCK_STREAM)
        try connectLoopback(client, ipv6: ipv6, port: server.port)
        let accepted = accept(listener, nil, nil)
        try check(accepted, "accept")
        descriptors.append(accepted)
        return Pair(address: server.address, serverPort: server.port, clientPort: try Self.port(of: client).port)
    }

    mutating func udpBound(ipv6: Bool, movedTo high: Int32? = nil) throws -> Bound {
        var fd = try open(ipv6: ipv6, type: SOCK_DGRAM)
        try bindLoopback(fd, ipv6: ipv6)
        if let high {
            try check(dup2(fd, high), "dup2")
            close(descriptors.removeLast())
            descriptors.append(high)
            fd = high
        }
        return try Self.port(of: fd)
    }

    mutating func udpConnected(to peer: Bound) throws -> Bound {
        let fd = try open(ipv6: false, type: SOCK_DGRAM)
        try connectLoopback(fd, ipv6: false, port: peer.port)
        return try Self.port(of: fd)
    }

    private mutating func open(ipv6: Bool, type: __socket_type) throws -> Int32 {
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(type.rawValue), 0)
        try check(fd, "socket")
        descriptors.append(fd)
        return fd
    }

    private func bindLoopback(_ fd: Int32, ipv6: Bool) throws {
        try withLoopback(ipv6: ipv6, port: 0) { try check(bind(fd, $0, $1), "bind") }
    }

    private func connectLoopback(_ fd: Int32, ipv6: Bool, port: UInt16) throws {
        try withLoopback(ipv6: ipv6, port: port) { try check(connect(fd, $0, $1), "connect") }
    }

    private func withLoopback(ipv6: Bool, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void) throws {
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = in6addr_loopback
            try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    private static func port(of fd: Int32) throws -> Bound {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try check(getsockname(fd, $0, &length), "getsockname") }
        }
        let family = storage.ss_family
        return withUnsafeBytes(of: &storage) { raw in
            let port = UInt16(raw[2]) << 8 | UInt16(raw[3])
            let address = family == sa_family_t(AF_INET6)
                ? IPAddress(bytes: raw[8..<24])! : IPAddress(bytes: raw[4..<8])!
            return Bound(address: address, port: port)
        }
    }
}

private struct SystemCallError: Error, CustomStringConvertible {
    var description: String
}

private func check(_ result: Int32, _ call: String) throws {
    if result < 0 { throw SystemCallError(description: "\(call): \(String(cString: strerror(errno)))") }
}
