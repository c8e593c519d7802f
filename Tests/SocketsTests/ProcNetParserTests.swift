import Foundation
import NetAddress
import TestSupport
import Testing

@testable import Sockets

/// Paths of the files under Fixtures/sockets.
enum Fixtures {
    static var directory: String { RepositoryFixtures.path("sockets") }
    static var procRoot: String { RepositoryFixtures.path("sockets/proc") }
    static func bytes(_ name: String) throws -> [UInt8] { try RepositoryFixtures.bytes("sockets/" + name) }
}

struct ProcNetParserTests {
    @Test func parsesIPv4TableWithStatesUidAndInode() throws {
        let entries = try ProcNetParser.parse(Fixtures.bytes("proc/net/tcp"), protocol: .tcp)
        #expect(entries.count == 11)
        let first = entries[0]
        #expect(first == SocketEntry(
            protocol: .tcp, state: .listen, localAddress: IPAddress("0.0.0.0")!, localPort: 22,
            remoteAddress: IPAddress("0.0.0.0")!, remotePort: 0, inode: 1001, uid: 0))
        let session = entries[1]
        #expect(session.state == .established)
        #expect(session.localAddress == IPAddress("10.0.0.5")!)
        #expect(session.remoteAddress == IPAddress("192.168.1.2")!)
        #expect(session.remotePort == 51000)
        #expect(entries[3].state == .timeWait)
        #expect(entries[3].inode == 0)
        #expect(entries[2].uid == 33)
        #expect(entries[10].state == .other)  // SYN_SENT
    }

    @Test func parsesIPv6TableAndShowsMappedAddressesAsIPv4() throws {
        let entries = try ProcNetParser.parse(Fixtures.bytes("proc/net/tcp6"), protocol: .tcp)
        #expect(entries.count == 3)
        #expect(entries[0].localAddress == .zero)
        #expect(!entries[0].localAddress.isIPv4)
        #expect(entries[1].localAddress.isIPv4)
        #expect(entries[1].localAddress.description == "10.0.0.5")
        #expect(entries[1].remoteAddress.description == "10.2.3.3")
        #expect(entries[2].localAddress.description == "::1")
        #expect(entries[2].localPort == 9000)
    }

    @Test func udpUnconnectedIsListenAndConnectedIsEstablished() throws {
        let udp = try ProcNetParser.parse(Fixtures.bytes("proc/net/udp"), protocol: .udp)
        #expect(udp.count == 1)
        #expect(udp[0].state == .listen)
        #expect(udp[0].localPort == 8301)
        let udp6 = try ProcNetParser.parse(Fixtures.bytes("proc/net/udp6"), protocol: .udp)
        #expect(udp6.count == 1)
        #expect(udp6[0].state == .established)
        #expect(udp6[0].localAddress.description == "2001:db8::5")
        #expect(udp6[0].remoteAddress.description == "2001:db8::53")
        #expect(udp6[0].remotePort == 53)
    }

    @Test func headerOnlyTableIsEmpty() throws {
        let header = Array("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n".utf8)
        #expect(try ProcNetParser.parse(header, protocol: .tcp).isEmpty)
        #expect(try ProcNetParser.parse([], protocol: .tcp).isEmpty)
    }

    @Test(arguments: [
        "   0: 0100007F:0CEA\n",
        "   0: 0100007:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n",
        "   0: 0100007F:CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n",
        "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x\n",
        "   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000 99999999999 0 1\n",
    ])
    func malformedRowIsAOneLineError(row: String) throws {
        let text = "header\n" + row
        let error = #expect(throws: SocketTableError.self) {
            try ProcNetParser.parse(Array(text.utf8), protocol: .tcp)
        }
        #expect(error?.description == "tcp socket table line 2: not a socket row")
    }

    @Test func corruptedTablesFailCleanly() throws {
        let table = try Fixtures.bytes("proc/net/tcp6")
        var generator = SplitMix(seed: 42)
        var rejected = 0
        for _ in 0..<500 {
            var bytes = table
            for _ in 0..<4 {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            bytes.removeLast(Int(generator.next() % 40))
            do {
                _ = try ProcNetParser.parse(bytes, protocol: .tcp)
            } catch {
                rejected += 1
            }
        }
        #expect(rejected > 0)
    }
}

