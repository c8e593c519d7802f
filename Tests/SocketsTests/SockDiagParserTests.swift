import NetAddress
import TestSupport
import Testing

@testable import Sockets

struct SockDiagParserTests {
    private func parse(_ bytes: [UInt8], _ proto: TransportProtocol = .tcp) throws -> ([SocketEntry], SockDiagParser.Progress) {
        var entries: [SocketEntry] = []
        let progress = try bytes.withUnsafeBytes { try SockDiagParser.parse($0, protocol: proto, into: &entries) }
        return (entries, progress)
    }

    @Test func parsesMessagesUntilDone() throws {
        let (entries, progress) = try parse(Fixtures.bytes("sockdiag-tcp4.bin"))
        #expect(progress == .done)
        #expect(entries.count == 3)
        #expect(entries[0].state == .listen)
        #expect(entries[0].localPort == 22)
        #expect(entries[0].inode == 1001)
        #expect(entries[1] == SocketEntry(
            protocol: .tcp, state: .established, localAddress: IPAddress("10.0.0.5")!, localPort: 22,
            remoteAddress: IPAddress("192.168.1.2")!, remotePort: 51000, inode: 1003, uid: 0))
        #expect(entries[2].state == .timeWait)
        #expect(entries[2].inode == 0)
    }

    @Test func partialReplyAsksForMoreAndMapsV4MappedToIPv4() throws {
        let (entries, progress) = try parse(Fixtures.bytes("sockdiag-tcp6-partial.bin"))
        #expect(progress == .more)
        #expect(entries.count == 1)
        #expect(entries[0].localAddress.isIPv4)
        #expect(entries[0].localAddress.description == "10.0.0.5")
        #expect(entries[0].remoteAddress.description == "2001:db8::53")
        #expect(entries[0].uid == 100)
        #expect(entries[0].inode == 3004)
    }

    @Test func kernelErrorIsReported() throws {
        let error = #expect(throws: SocketTableError.self) { try parse(Fixtures.bytes("sockdiag-error.bin"), .udp) }
        #expect(error?.description == "sock_diag: kernel answered error 2 (errno) to a udp dump")
    }

    /// An error code of Int32.min (found by the fuzzer) has no negation in 32 bits.
    @Test func anyErrorCodeIsReportedWithoutOverflow() throws {
        var bytes = try Fixtures.bytes("sockdiag-error.bin")
        withUnsafeBytes(of: Int32.min.littleEndian) { bytes.replaceSubrange(16..<20, with: $0) }
        let error = #expect(throws: SocketTableError.self) { try parse(bytes, .udp) }
        #expect(error?.description == "sock_diag: kernel answered error 2147483648 (errno) to a udp dump")
    }

    @Test func truncatedMessageIsAnErrorNotACrash() throws {
        let bytes = try Fixtures.bytes("sockdiag-tcp4.bin")
        let error = #expect(throws: SocketTableError.self) { try parse(Array(bytes.prefix(50))) }
        #expect(error?.description == "sock_diag: message length 88 at offset 0 overruns the 50-byte reply")
        var short = Array(bytes.prefix(40))
        short[0] = 40
        let tooShort = #expect(throws: SocketTableError.self) { try parse(short) }
        #expect(tooShort?.description == "sock_diag: 40-byte message is shorter than inet_diag_msg")
    }

    @Test func requestAsksForADumpOfEveryState() {
        let request = SockDiagParser.dumpRequest(ipv6: true, protocol: .udp, sequence: 9)
        #expect(request.count == 72)
        #expect(request[0] == 72 && request[4] == 20 && request[6] == 0x01 && request[7] == 0x03 && request[8] == 9)
        #expect(request[16] == 10 && request[17] == 17)
        #expect(Array(request[20..<24]) == [0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test func bothFamiliesTCPRequestIsTheOlderInetDiagRequest() {
        let request = SockDiagParser.tcpBothFamiliesDumpRequest(sequence: 5)
        #expect(request.count == 76)
        #expect(request[0] == 76 && request[4] == 18 && request[6] == 0x01 && request[7] == 0x03 && request[8] == 5)
        // Family 0 (both), any socket id, every state, no dump bitmap.
        #expect(request[16..<68].allSatisfy { $0 == 0 })
        #expect(Array(request[68..<72]) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(request[72..<76].allSatisfy { $0 == 0 })
    }

    @Test func answersToTheOlderRequestParseTheSame() throws {
        var bytes = try Fixtures.bytes("sockdiag-tcp4.bin")
        let (expected, _) = try parse(bytes)
        // Each message's type becomes TCPDIAG_GETSOCK (18), as the kernel answers that request.
        var offset = 0
        while offset + 16 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            if bytes[offset + 4] == 20 { bytes[offset + 4] = 18 }
            offset += (length + 3) & ~3
        }
        let (entries, progress) = try parse(bytes)
        #expect(progress == .done)
        #expect(entries == expected)
    }

    @Test func corruptedRepliesFailCleanly() throws {
        let reply = try Fixtures.bytes("sockdiag-tcp4.bin")
        var generator = SplitMix(seed: 7)
        for _ in 0..<500 {
            var bytes = reply
            for _ in 0..<3 {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            bytes.removeLast(Int(generator.next() % 90))
            _ = try? parse(bytes)
        }
    }
}
