@testable import Capture
import Foundation
import Testing

/// The pcapng writer, byte by byte and read back by Wireshark's own tools (tshark,
/// capinfos) and by libpcap.
struct PcapngWriterTests {
    static let section = PcapngWriter.Section(hostname: "web-1", hostgroup: "frontend", application: "planet-exporter 9.9.9",
                                              comments: ["filter: udp port 53"])
    static let frame = SnapLengthProgramTests.frame(sport: 5000, dport: 6000, payload: 13)

    /// A file with two interfaces, packets with and without comments, lengths that need
    /// padding, and statistics at the end.
    static func file() -> [UInt8] {
        var out: [UInt8] = []
        PcapngWriter.appendSectionHeader(section, to: &out)
        PcapngWriter.appendInterfaceDescription(.init(name: "eth0", linkType: 1, snapLength: 256, filter: "udp"), to: &out)
        PcapngWriter.appendInterfaceDescription(.init(name: "veth-x", linkType: 1, snapLength: 65535), to: &out)
        let comment = Array("pe-app → api.example.com".utf8)
        frame.withUnsafeBytes { packet in
            comment.withUnsafeBytes { comment in
                PcapngWriter.appendEnhancedPacket(interfaceID: 0, micros: 1_700_000_000_123_456, wireLength: UInt32(frame.count),
                                                  packet: packet, comment: comment, to: &out)
            }
            PcapngWriter.appendEnhancedPacket(interfaceID: 1, micros: 1_700_000_001_000_001, wireLength: 1500,
                                              packet: UnsafeRawBufferPointer(rebasing: packet.prefix(43)),
                                              comment: UnsafeRawBufferPointer(start: nil, count: 0), to: &out)
        }
        for id: UInt32 in [0, 1] {
            PcapngWriter.appendInterfaceStatistics(interfaceID: id, .init(
                startMicros: 1_700_000_000_000_000, endMicros: 1_700_000_005_000_000, received: 10 + UInt64(id), dropped: 3,
                accepted: 2, delivered: 1, comment: "capture ended: duration"), to: &out)
        }
        return out
    }

    static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    /// Every block's two length fields agree, are a multiple of 4, and the blocks tile the file.
    @Test func blocksTileTheFileWithMatchingLengths() {
        let bytes = Self.file()
        var offset = 0
        var types: [UInt32] = []
        while offset < bytes.count {
            let length = Int(Self.uint32(bytes, offset + 4))
            #expect(length % 4 == 0)
            #expect(offset + length <= bytes.count)
            guard offset + length <= bytes.count, length >= 12 else { break }
            #expect(Self.uint32(bytes, offset + length - 4) == UInt32(length))
            types.append(Self.uint32(bytes, offset))
            offset += length
        }
        #expect(offset == bytes.count)
        #expect(types == [0x0A0D_0D0A, 1, 1, 6, 6, 5, 5])
    }

    /// The Enhanced Packet Block, field by field: 5 captured bytes padded to 8, a comment of
    /// 2 bytes padded to 4, the end of options, and the length again: 52 bytes.
    @Test func enhancedPacketBlockBytes() {
        var out: [UInt8] = []
        let packet: [UInt8] = [1, 2, 3, 4, 5]
        let comment: [UInt8] = Array("ab".utf8)
        packet.withUnsafeBytes { packet in
            comment.withUnsafeBytes { comment in
                PcapngWriter.appendEnhancedPacket(interfaceID: 2, micros: 0x1_0000_0002, wireLength: 60, packet: packet,
                                                  comment: comment, to: &out)
            }
        }
        let expected: [UInt8] = [
            6, 0, 0, 0, 52, 0, 0, 0,  // type, total length
            2, 0, 0, 0,  // interface
            1, 0, 0, 0, 2, 0, 0, 0,  // time stamp high, low
            5, 0, 0, 0, 60, 0, 0, 0,  // captured, original length
            1, 2, 3, 4, 5, 0, 0, 0,  // data, padded
            1, 0, 2, 0, 0x61, 0x62, 0, 0,  // opt_comment "ab", padded
            0, 0, 0, 0,  // opt_endofopt
            52, 0, 0, 0,
        ]
        #expect(out == expected)
        #expect(PcapngWriter.enhancedPacketLength(captured: 5, commentBytes: 2) == 52)
        #expect(PcapngWriter.enhancedPacketLength(captured: 8, commentBytes: 0) == 40)
    }

    /// The Section Header Block starts with the magic, the byte-order magic, version 1.0
    /// and an unknown section length.
    @Test func sectionHeaderPrefix() {
        var out: [UInt8] = []
        PcapngWriter.appendSectionHeader(Self.section, to: &out)
        #expect(Array(out[0..<4]) == [0x0A, 0x0D, 0x0D, 0x0A])
        #expect(Array(out[8..<16]) == [0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0])
        #expect(Array(out[16..<24]) == [UInt8](repeating: 0xFF, count: 8))
    }

    /// An option longer than 16 bits can say is cut at a character boundary, not split.
    @Test func longCommentIsCutOnACharacter() {
        var out: [UInt8] = []
        let long = String(repeating: "é", count: 40_000)
        PcapngWriter.appendSectionHeader(.init(hostname: "h", hostgroup: "", application: "a", comments: [long]), to: &out)
        #expect(Self.uint32(out, 4) == UInt32(out.count))
        // The options start after the header, byte-order magic, version and section length.
        var offset = 24
        var longest: [UInt8] = []
        while offset + 4 <= out.count {
            let code = UInt16(out[offset]) | UInt16(out[offset + 1]) << 8
            let length = Int(UInt16(out[offset + 2]) | UInt16(out[offset + 3]) << 8)
            if code == 0 { break }
            if length > longest.count { longest = Array(out[(offset + 4)..<(offset + 4 + length)]) }
            offset += 4 + PcapngWriter.padded(length)
        }
        #expect(longest.count <= PcapngWriter.maxCommentBytes && longest.count > 65_000)
        #expect(String(validating: longest, as: UTF8.self) != nil)
    }

    /// Runs a tool on the file and returns its standard output; nil when the tool is not installed.
    static func run(_ tool: String, _ arguments: [String]) throws -> String? {
        guard let path = ["/usr/bin/", "/usr/sbin/"].map({ $0 + tool }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")) failed: \(complaint)")
        return String(decoding: data, as: UTF8.self)
    }

    static func written() throws -> String {
        // A file per test: the tests run in parallel.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pcapng-writer-\(UUID().uuidString).pcapng").path
        try Data(file()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// tshark reads every packet with its interface, lengths, time and comment.
    @Test func tsharkReadsPacketsAndComments() throws {
        let path = try Self.written()
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let text = try Self.run("tshark", ["-r", path, "-T", "fields", "-E", "separator=|",
                                                 "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.cap_len",
                                                 "-e", "frame.time_epoch", "-e", "frame.comment", "-e", "udp.dstport"])
        else { Issue.record("tshark is not installed (apt-get install tshark)"); return }
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("eth0|55|55|1700000000.123456") == true)
        #expect(lines.first?.contains("|pe-app → api.example.com|6000") == true)
        #expect(lines.last?.hasPrefix("veth-x|1500|43|1700000001.000001") == true)
    }

    /// capinfos sees the section's application and comments, both interfaces with their
    /// link type, snap length and filter, a packet each and a statistics block each.
    @Test func capinfosReadsTheSectionAndInterfaces() throws {
        let path = try Self.written()
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let text = try Self.run("capinfos", ["-c", "-F", "-I", "-k", path]) else {
            Issue.record("capinfos is not installed (apt-get install tshark)")
            return
        }
        #expect(text.contains("Number of packets:   2"), "\(text)")
        #expect(text.contains("planet-exporter 9.9.9"))
        #expect(text.contains("host: web-1"))
        #expect(text.contains("hostgroup: frontend"))
        #expect(text.contains("Name = eth0"))
        #expect(text.contains("Name = veth-x"))
        #expect(text.contains("Capture length = 256"))
        #expect(text.contains("Capture length = 65535"))
        #expect(text.contains("Filter string = udp"))
        #expect(text.contains("Encapsulation = Ethernet (1 - ether)"))
        #expect(text.components(separatedBy: "Number of stat entries = 1").count == 3)
        #expect(text.components(separatedBy: "Number of packets = 1").count == 3)
    }

    /// libpcap itself opens the file: the replay path reads what the capture endpoint writes.
    @Test func libpcapReadsTheFile() throws {
        let path = try Self.written()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try PcapHandle.openOffline(path: path)
        #expect(handle.linkTypeNumber == 1)
    }
}
