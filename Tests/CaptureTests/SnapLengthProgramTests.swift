import Capture
import Testing

/// The per-packet snap length program, run by libpcap's own BPF interpreter on frames
/// as the kernel would see them.
struct SnapLengthProgramTests {
    /// An Ethernet/IPv4 frame: UDP or TCP from `sport` to `dport`, `payload` bytes after the header.
    static func frame(udp: Bool = true, sport: UInt16, dport: UInt16, payload: Int = 400,
                      source: [UInt8] = [203, 0, 113, 53], destination: [UInt8] = [10, 0, 0, 5]) -> [UInt8] {
        let transport = udp ? 8 : 20
        let total = 20 + transport + payload
        var frame: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
        frame += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, udp ? 17 : 6, 0, 0] + source + destination
        frame += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF)]
        frame += udp ? [UInt8((8 + payload) >> 8), UInt8((8 + payload) & 0xFF), 0, 0]
                     : [0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xFF, 0xFF, 0, 0, 0, 0]
        return frame + [UInt8](repeating: 0xAB, count: payload)
    }

    static let dnsResponse = frame(sport: 53, dport: 40000)
    static let dnsQuery = frame(sport: 40000, dport: 53, source: [10, 0, 0, 5], destination: [203, 0, 113, 53])
    static let otherUDP = frame(sport: 5000, dport: 6000)
    static let https = frame(udp: false, sport: 443, dport: 40000)
    static let dnsOverTCP = frame(udp: false, sport: 53, dport: 40000)

    /// A response of 8,000 bytes (EDNS over UDP, or a segment of a TCP answer with
    /// offloading) is kept to the bound, not whole.
    @Test func aLongDNSResponseIsCutAtTheBound() throws {
        let program = try SnapLengthProgram(filter: "", linkType: 1, snapLength: 192)
        #expect(SnapLengthProgram.dnsSnapLength == 4_096)
        #expect(program.snapLength(of: Self.frame(sport: 53, dport: 40000, payload: 8_000)) == 4_096)
        #expect(program.snapLength(of: Self.frame(udp: false, sport: 53, dport: 40000, payload: 8_000)) == 4_096)
    }

    @Test func withoutAFilterDNSResponsesAreWholeAndTheRestCut() throws {
        let program = try SnapLengthProgram(filter: "", linkType: 1, snapLength: 192)
        #expect(program.snapLength(of: Self.dnsResponse) == SnapLengthProgram.dnsSnapLength)
        #expect(program.snapLength(of: Self.dnsOverTCP) == SnapLengthProgram.dnsSnapLength)
        #expect(program.snapLength(of: Self.dnsQuery) == 192)
        #expect(program.snapLength(of: Self.otherUDP) == 192)
        #expect(program.snapLength(of: Self.https) == 192)
    }

    @Test func theUserFilterStillDecidesWhatIsCaptured() throws {
        let tcpOnly = try SnapLengthProgram(filter: "tcp", linkType: 1, snapLength: 128)
        #expect(tcpOnly.snapLength(of: Self.dnsResponse) == 0)
        #expect(tcpOnly.snapLength(of: Self.otherUDP) == 0)
        #expect(tcpOnly.snapLength(of: Self.https) == 128)
        #expect(tcpOnly.snapLength(of: Self.dnsOverTCP) == SnapLengthProgram.dnsSnapLength)
        let host = try SnapLengthProgram(filter: "host 203.0.113.53 or port 6000", linkType: 1, snapLength: 192)
        #expect(host.snapLength(of: Self.dnsResponse) == SnapLengthProgram.dnsSnapLength)
        #expect(host.snapLength(of: Self.dnsQuery) == 192)
        #expect(host.snapLength(of: Self.otherUDP) == 192)
        #expect(host.snapLength(of: Self.frame(udp: false, sport: 443, dport: 40000, source: [198, 51, 100, 1])) == 0)
    }

    @Test func aBadFilterSaysWhichAndWhy() {
        #expect(throws: CaptureError.self) { try SnapLengthProgram(filter: "port nonsense", linkType: 1, snapLength: 192) }
        do {
            _ = try SnapLengthProgram(filter: "udp and", linkType: 1, snapLength: 192)
        } catch {
            #expect(error.description.contains("invalid capture filter \"udp and\""))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func aLinkWithoutIPCutsEverythingAtTheSnapLength() throws {
        // Linktype 147 (user 0): pcap cannot compile "udp" for it; no DNS, everything cut.
        let program = try SnapLengthProgram(filter: "", linkType: 147, snapLength: 100)
        #expect(program.snapLength(of: Self.dnsResponse) == 100)
    }
}
