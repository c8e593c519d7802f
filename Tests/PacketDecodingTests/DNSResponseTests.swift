import NetAddress
import PacketDecoding
import TestSupport
import Testing

/// Builds DNS messages byte by byte, with or without compressed names.
struct DNSMessageBuilder {
    var bytes: [UInt8] = []
    /// Where each name written uncompressed starts, for pointers to it.
    var offsets: [String: Int] = [:]

    init(response: Bool = true, rcode: UInt16 = 0, questions: UInt16 = 1, answers: UInt16) {
        let flags: UInt16 = (response ? 0x8180 : 0x0100) | rcode
        for word in [0x1234, flags, questions, answers, 0, 0] as [UInt16] { be16(word) }
    }

    mutating func be16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func be32(_ value: UInt32) { be16(UInt16(value >> 16)); be16(UInt16(value & 0xFFFF)) }

    /// Writes `name`; with `compress`, as a pointer to an earlier copy when there is one.
    mutating func name(_ name: String, compress: Bool = true) {
        if compress, let offset = offsets[name] {
            be16(0xC000 | UInt16(offset))
            return
        }
        offsets[name] = bytes.count
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        bytes.append(0)
    }

    mutating func question(_ name: String, type: UInt16 = 1) {
        self.name(name)
        be16(type)
        be16(1)
    }

    mutating func record(_ owner: String, type: UInt16, ttl: UInt32, data: [UInt8], klass: UInt16 = 1) {
        name(owner)
        be16(type)
        be16(klass)
        be32(ttl)
        be16(UInt16(data.count))
        bytes += data
    }

    mutating func a(_ owner: String, _ address: String, ttl: UInt32 = 300) {
        record(owner, type: 1, ttl: ttl, data: IPAddress(address)!.bytes.suffix(4))
    }

    mutating func aaaa(_ owner: String, _ address: String, ttl: UInt32 = 300) {
        record(owner, type: 28, ttl: ttl, data: IPAddress(address)!.bytes)
    }

    mutating func cname(_ owner: String, _ target: String, ttl: UInt32 = 60) {
        name(owner)
        be16(5)
        be16(1)
        be32(ttl)
        let lengthAt = bytes.count
        be16(0)
        let start = bytes.count
        name(target)
        let length = bytes.count - start
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}

/// `decode` of the message `bytes`, and the queried name of a response that answers its
/// query, as the capture reads it for one whose query was seen.
func decodeDNS(_ bytes: [UInt8]) -> (DNSStatus, DNSAnswers) {
    var answers = DNSAnswers()
    let status = bytes.withUnsafeBytes { message in
        let status = DNSResponseDecoder.decode(message, into: &answers)
        if status.answersItsQuery { DNSResponseDecoder.readQuestionName(message, into: &answers) }
        return status
    }
    return (status, answers)
}

func addresses(_ answers: DNSAnswers) -> [String] {
    (0..<answers.count).map { answers.addresses[$0].description }
}

struct DNSResponseTests {
    @Test func singleAddress() {
        var m = DNSMessageBuilder(answers: 1)
        m.question("example.com")
        m.a("example.com", "93.184.216.34", ttl: 3600)
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == "example.com")
        #expect(addresses(answers) == ["93.184.216.34"])
        #expect(answers.ttls[0] == 3600)
    }

    @Test func cnameChainMapsEveryAddressToTheAskedName() {
        var m = DNSMessageBuilder(answers: 5)
        m.question("WWW.Example.COM", type: 1)
        m.cname("WWW.Example.COM", "web.example.net")
        m.cname("web.example.net", "edge.cdn.net")
        m.a("edge.cdn.net", "10.1.2.3", ttl: 20)
        m.a("edge.cdn.net", "10.1.2.4", ttl: 20)
        m.aaaa("edge.cdn.net", "2001:db8::7", ttl: 30)
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == "www.example.com")
        #expect(addresses(answers) == ["10.1.2.3", "10.1.2.4", "2001:db8::7"])
        #expect((0..<answers.count).map { answers.ttls[$0] } == [20, 20, 30])
    }

    @Test func uncompressedNamesReadTheSame() {
        var m = DNSMessageBuilder(answers: 2)
        m.question("a.example")
        m.name("a.example", compress: false); m.be16(5); m.be16(1); m.be32(5)
        let target: [UInt8] = [1, UInt8(ascii: "b"), 7] + Array("example".utf8) + [0]
        m.be16(UInt16(target.count)); m.bytes += target
        m.name("b.example", compress: false); m.be16(1); m.be16(1); m.be32(9); m.be16(4); m.bytes += [192, 0, 2, 1]
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == "a.example")
        #expect(addresses(answers) == ["192.0.2.1"])
    }

    /// An owner that points at the question's name is the asked name; one that points
    /// inside it (at "example.com" of "www.example.com") is another name.
    @Test func anOwnerPointingInsideTheQuestionIsAnotherName() {
        var m = DNSMessageBuilder(answers: 2)
        m.question("www.example.com")
        m.be16(0xC000 | 16); m.be16(1); m.be16(1); m.be32(9); m.be16(4); m.bytes += [192, 0, 2, 9]
        m.be16(0xC000 | 12); m.be16(1); m.be16(1); m.be32(9); m.be16(4); m.bytes += [192, 0, 2, 1]
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == "www.example.com")
        #expect(addresses(answers) == ["192.0.2.1"])
    }

    @Test func recordsOfOtherNamesAndClassesAreIgnored() {
        var m = DNSMessageBuilder(answers: 3)
        m.question("asked.example")
        m.a("other.example", "10.9.9.9")
        m.record("asked.example", type: 1, ttl: 5, data: [10, 8, 8, 8], klass: 3)  // CHAOS
        m.a("asked.example", "10.0.0.1")
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(addresses(answers) == ["10.0.0.1"])
    }

    @Test func queriesAndFailuresHaveNoAddresses() {
        var query = DNSMessageBuilder(response: false, answers: 0)
        query.question("example.com")
        #expect(decodeDNS(query.bytes).0 == .notResponse)
        var nxdomain = DNSMessageBuilder(rcode: 3, answers: 0)
        nxdomain.question("nope.example")
        #expect(decodeDNS(nxdomain.bytes).0 == .noAddresses)
        var onlyCname = DNSMessageBuilder(answers: 1)
        onlyCname.question("alias.example")
        onlyCname.cname("alias.example", "target.example")
        #expect(decodeDNS(onlyCname.bytes).0 == .noAddresses)
        var noQuestion = DNSMessageBuilder(questions: 0, answers: 0)
        noQuestion.a("x.example", "10.0.0.1")
        #expect(decodeDNS(noQuestion.bytes).0 == .malformed)
    }

    @Test func pointerLoopsAreMalformed() {
        // The answer's name is a pointer to itself.
        var selfLoop = DNSMessageBuilder(answers: 1)
        selfLoop.question("example.com")
        let at = selfLoop.bytes.count
        selfLoop.be16(0xC000 | UInt16(at)); selfLoop.be16(1); selfLoop.be16(1); selfLoop.be32(1); selfLoop.be16(4)
        selfLoop.bytes += [1, 2, 3, 4]
        #expect(decodeDNS(selfLoop.bytes).0 == .malformed)
        // A label, then a pointer back to that label: a loop through a run of labels.
        var runLoop = DNSMessageBuilder(answers: 1)
        runLoop.question("example.com")
        let run = runLoop.bytes.count
        runLoop.bytes += [1, UInt8(ascii: "a")]
        runLoop.be16(0xC000 | UInt16(run)); runLoop.be16(1); runLoop.be16(1); runLoop.be32(1); runLoop.be16(4)
        runLoop.bytes += [1, 2, 3, 4]
        #expect(decodeDNS(runLoop.bytes).0 == .malformed)
        // A pointer forward.
        var forward = DNSMessageBuilder(answers: 1)
        forward.question("example.com")
        forward.be16(0xC000 | UInt16(forward.bytes.count + 20)); forward.be16(1); forward.be16(1); forward.be32(1)
        forward.be16(4); forward.bytes += [1, 2, 3, 4]
        #expect(decodeDNS(forward.bytes).0 == .malformed)
    }

    @Test func reservedLabelTypesAndLongNamesAreMalformed() {
        var reserved = DNSMessageBuilder(answers: 0)
        reserved.bytes += [0x41, 0, 0, 1, 0, 1]
        #expect(decodeDNS(reserved.bytes).0 == .malformed)
        var long = DNSMessageBuilder(answers: 0)
        for _ in 0..<5 { long.bytes.append(63); long.bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 63) }
        long.bytes += [0, 0, 1, 0, 1]
        #expect(decodeDNS(long.bytes).0 == .malformed)
    }

    @Test func everyCutIsTruncatedNeverACrash() {
        var m = DNSMessageBuilder(answers: 3)
        m.question("www.example.com")
        m.cname("www.example.com", "edge.example.net")
        m.a("edge.example.net", "10.1.1.1")
        m.aaaa("edge.example.net", "2001:db8::1")
        #expect(decodeDNS(m.bytes).0 == .ok)
        for length in 0..<m.bytes.count {
            let (status, answers) = decodeDNS(Array(m.bytes.prefix(length)))
            #expect(status == .truncated, "cut at \(length)")
            #expect(answers.count == 0)
        }
    }

    @Test func moreAddressesThanKeptAreCounted() {
        var m = DNSMessageBuilder(answers: 20)
        m.question("many.example")
        for index in 0..<20 { m.a("many.example", "10.0.0.\(index)") }
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.count == DNSAnswers.capacity)
        #expect(answers.droppedAddresses == 4)
    }

    @Test func unusualBytesInNamesAreReplaced() {
        var m = DNSMessageBuilder(answers: 1)
        m.bytes += [4, UInt8(ascii: "a"), 0x22, 0x0A, UInt8(ascii: "."), 3] + Array("COM".utf8) + [0, 0, 1, 0, 1]
        m.be16(0xC00C); m.be16(1); m.be16(1); m.be32(7); m.be16(4); m.bytes += [10, 0, 0, 9]
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == "a???.com")
    }

    /// Seeded random corruption of real-shaped responses: any status, never a crash,
    /// never more addresses than kept.
    @Test func mutatedResponsesNeverCrash() {
        var m = DNSMessageBuilder(answers: 4)
        m.question("www.example.com")
        m.cname("www.example.com", "edge.example.net")
        m.a("edge.example.net", "10.1.1.1")
        m.a("edge.example.net", "10.1.1.2")
        m.aaaa("edge.example.net", "2001:db8::1")
        var random = SplitMix(seed: 0xD15)
        for _ in 0..<50_000 {
            var bytes = m.bytes
            for _ in 0..<(1 + Int(random.next() % 4)) {
                let index = Int(random.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.next() % 4 == 0 { bytes.removeLast(Int(random.next() % UInt64(bytes.count))) }
            let (_, answers) = decodeDNS(bytes)
            #expect(answers.count <= DNSAnswers.capacity && answers.nameLength <= DNSAnswers.maxNameLength)
        }
    }
}

/// DNS responses found in whole frames, as the capture callback hands them over.
struct DNSFrameTests {
    static func response() -> [UInt8] {
        var m = DNSMessageBuilder(answers: 2)
        m.question("db.example")
        m.cname("db.example", "primary.db.example")
        m.a("primary.db.example", "10.20.30.40", ttl: 15)
        return m.bytes
    }

    static func udp(_ message: [UInt8], sourcePort: UInt16 = 53) -> [UInt8] {
        TestFrames.be16(sourcePort) + TestFrames.be16(40000) + TestFrames.be16(UInt16(8 + message.count)) + [0, 0] + message
    }

    /// A TCP segment from `sourcePort` whose data is `message` with its 2-byte length, as
    /// DNS over TCP sends it; `announced` overrides the length.
    static func tcp(_ message: [UInt8], sourcePort: UInt16 = 53, announced: UInt16? = nil) -> [UInt8] {
        TestFrames.tcp(source: sourcePort, destination: 40000, flags: 0x18)
            + TestFrames.be16(announced ?? UInt16(message.count)) + message
    }

    func decode(_ frame: [UInt8], _ linkType: LinkType) -> (DNSStatus?, DNSAnswers) {
        frame.withUnsafeBytes { raw in
            var summary = PacketSummary()
            #expect(PacketDecoder.decode(raw, wireLength: raw.count, linkType: linkType, into: &summary) == .ok)
            var answers = DNSAnswers()
            let status = DNSResponseDecoder.decode(frame: raw, summary: summary, into: &answers)
            return (status, answers)
        }
    }

    /// Expects each frame to decode to `response()`'s name and address.
    func expectTheResponse(in frames: [([UInt8], LinkType)], sourceLocation: SourceLocation = #_sourceLocation) {
        for (frame, linkType) in frames {
            let (status, answers) = decode(frame, linkType)
            #expect(status == .ok, "\(linkType)", sourceLocation: sourceLocation)
            #expect(answers.nameText == "db.example", sourceLocation: sourceLocation)
            #expect(addresses(answers) == ["10.20.30.40"], sourceLocation: sourceLocation)
        }
    }

    @Test func everyLinkTypeAndIPVersion() {
        let message = Self.response()
        let v4 = TestFrames.ipv4(protocol: 17, payload: Self.udp(message), options: 2)
        let v6 = TestFrames.ipv6(nextHeader: 0, payload: TestFrames.extensionHeader(next: 60)
            + TestFrames.extensionHeader(next: 17, units: 1) + Self.udp(message))
        let frames: [([UInt8], LinkType)] = [
            (TestFrames.ethernet(type: 0x0800, payload: v4), .ethernet),
            (TestFrames.ethernet(type: 0x86DD, tags: [0x8100, 0x88A8], payload: v6), .ethernet),
            (TestFrames.sll(protocol: 0x0800, payload: v4), .linuxSLL),
            (TestFrames.sll2(protocol: 0x86DD, payload: v6), .linuxSLL2),
            (TestFrames.bsdLoopback(family: 2, bigEndian: false, payload: v4), .bsdLoopback),
            (v6, .rawIP),
        ]
        expectTheResponse(in: frames)
    }

    @Test func aTCPSegmentHoldingTheWholeMessageDecodes() {
        let message = Self.response()
        let frames: [([UInt8], LinkType)] = [
            (TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 6, payload: Self.tcp(message), options: 1)), .ethernet),
            (TestFrames.ipv6(nextHeader: 60, payload: TestFrames.extensionHeader(next: 6) + Self.tcp(message)), .rawIP),
            // Ethernet padding after the IP length is not part of the segment.
            (TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 6, payload: Self.tcp(message))) + [0, 0, 0, 0], .ethernet),
        ]
        expectTheResponse(in: frames)
    }

    @Test func aTCPSegmentWithoutDataIsNoMessage() {
        for flags: UInt8 in [0x12, 0x10, 0x11] {  // SYN-ACK, ACK, FIN-ACK
            let frame = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(
                protocol: 6, payload: TestFrames.tcp(source: 53, destination: 40000, flags: flags)))
            // Padded to Ethernet's 60 bytes: the padding is not data.
            let (status, answers) = decode(frame + [UInt8](repeating: 0, count: 6), .ethernet)
            #expect(status == nil)
            #expect(answers.count == 0)
        }
    }

    @Test func aMessageLongerThanItsSegmentIsTruncated() {
        let message = Self.response()
        // The first segment of a message split over several, and a segment with only
        // part of the length.
        let split = TestFrames.ipv4(protocol: 6, payload: Self.tcp(message, announced: UInt16(message.count + 1400)))
        #expect(decode(TestFrames.ethernet(type: 0x0800, payload: split), .ethernet).0 == .truncated)
        let oneByte = TestFrames.ipv4(protocol: 6, payload: TestFrames.tcp(source: 53, destination: 40000, flags: 0x18) + [0])
        #expect(decode(TestFrames.ethernet(type: 0x0800, payload: oneByte), .ethernet).0 == .truncated)
    }

    /// Headers mutated after the packet decoder accepted the frame (the lengths, the TCP
    /// data offset, the IPv6 chain) and cuts anywhere: every read stays inside the frame
    /// (FrameReader asserts it in debug builds).
    @Test func mutatedTCPFramesNeverReadPastTheirEnd() {
        let message = Self.response()
        let frames: [([UInt8], LinkType)] = [
            (TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 6, payload: Self.tcp(message))), .ethernet),
            (TestFrames.ipv6(nextHeader: 0, payload: TestFrames.extensionHeader(next: 6) + Self.tcp(message)), .rawIP),
            (TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17, payload: Self.udp(message))), .ethernet),
        ]
        var random = SplitMix(seed: 0x7C9)
        for (original, linkType) in frames {
            var summary = PacketSummary()
            original.withUnsafeBytes { raw in
                #expect(PacketDecoder.decode(raw, wireLength: raw.count, linkType: linkType, into: &summary) == .ok)
            }
            for _ in 0..<20_000 {
                var bytes = original
                for _ in 0..<(1 + Int(random.next() % 3)) {
                    // Mostly the headers: the first 80 bytes.
                    let index = Int(random.next() % UInt64(min(80, bytes.count)))
                    bytes[index] = UInt8(truncatingIfNeeded: random.next())
                }
                if random.next() % 3 == 0 { bytes.removeLast(Int(random.next() % UInt64(bytes.count))) }
                bytes.withUnsafeBytes { raw in
                    var answers = DNSAnswers()
                    _ = DNSResponseDecoder.decode(frame: raw, summary: summary, into: &answers)
                    #expect(answers.count <= DNSAnswers.capacity)
                }
            }
        }
    }

    @Test func aTCPHeaderCutBySnapLengthIsTruncated() {
        let frame = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 6, payload: Self.tcp(Self.response())))
        for length in [14 + 20 + 10, 14 + 20 + 19] {
            let cut = Array(frame.prefix(length))
            let status = cut.withUnsafeBytes { raw in
                var summary = PacketSummary()
                _ = PacketDecoder.decode(raw, wireLength: frame.count, linkType: .ethernet, into: &summary)
                var answers = DNSAnswers()
                return DNSResponseDecoder.decode(frame: raw, summary: summary, into: &answers)
            }
            #expect(status == .truncated, "cut at \(length)")
        }
    }

    func queryID(_ frame: [UInt8], wireLength: Int? = nil) -> UInt16? {
        frame.withUnsafeBytes { raw in
            var summary = PacketSummary()
            _ = PacketDecoder.decode(raw, wireLength: wireLength ?? raw.count, linkType: .ethernet, into: &summary)
            return DNSResponseDecoder.queryID(frame: raw, span: summary.transportSpan)
        }
    }

    @Test func aQueryGivesItsIDAndAResponseNone() {
        var query = DNSMessageBuilder(response: false, answers: 0)
        query.question("db.example")
        let overUDP = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17,
            payload: TestFrames.be16(40000) + TestFrames.be16(53) + TestFrames.be16(UInt16(8 + query.bytes.count)) + [0, 0] + query.bytes))
        #expect(queryID(overUDP) == 0x1234)
        // The ID and flags are all it needs: a query cut after them still has its ID.
        #expect(queryID(Array(overUDP.prefix(14 + 20 + 8 + 4)), wireLength: overUDP.count) == 0x1234)
        #expect(queryID(Array(overUDP.prefix(14 + 20 + 8 + 3)), wireLength: overUDP.count) == nil)
        let overTCP = TestFrames.ethernet(type: 0x86DD, payload: TestFrames.ipv6(nextHeader: 51,
            payload: TestFrames.authenticationHeader(next: 6) + TestFrames.tcp(source: 40000, destination: 53, flags: 0x18)
                + TestFrames.be16(UInt16(query.bytes.count)) + query.bytes))
        #expect(queryID(overTCP) == 0x1234)
        let response = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17, payload: Self.udp(Self.response())))
        #expect(queryID(response) == nil)
    }

    @Test func aResponseBehindAnAuthenticationHeaderDecodes() {
        // The packet decoder walks AH; the DNS decoder starts where it stopped.
        let frame = TestFrames.ethernet(type: 0x86DD, payload: TestFrames.ipv6(nextHeader: 51,
            payload: TestFrames.authenticationHeader(next: 17) + Self.udp(Self.response())))
        expectTheResponse(in: [(frame, .ethernet)])
    }

    @Test func ethernetPaddingAfterTheDatagramIsNotRead() {
        // The UDP length ends the message; bytes after it (padding) would be a bad record.
        let frame = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17, payload: Self.udp(Self.response())))
            + [0xC0, 0x0C, 0, 1]
        #expect(decode(frame, .ethernet).0 == .ok)
    }

    @Test func aSnapLengthCutIsTruncated() {
        let frame = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17, payload: Self.udp(Self.response())))
        for length in [14 + 20 + 4, 14 + 20 + 8 + 20, frame.count - 1] {
            let cut = Array(frame.prefix(length))
            let (status, _) = cut.withUnsafeBytes { raw in
                var summary = PacketSummary()
                _ = PacketDecoder.decode(raw, wireLength: frame.count, linkType: .ethernet, into: &summary)
                var answers = DNSAnswers()
                return (DNSResponseDecoder.decode(frame: raw, summary: summary, into: &answers), answers)
            }
            #expect(status == .truncated, "cut at \(length)")
        }
    }

    /// A file taken with a short snap length: the answers that lie wholly inside the
    /// captured bytes name their addresses (`.partial`); a message that was sent short
    /// (the wire carried no more) names nothing, nor does a cut before any whole answer.
    @Test func aSnapLengthCutAfterWholeAnswersNamesThem() {
        var m = DNSMessageBuilder(answers: 3)
        m.question("pool.example")
        for last in 1...3 { m.a("pool.example", "192.0.2.\(last)") }
        let message = m.bytes
        let udp = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 17, payload: Self.udp(message)))
        let tcp = TestFrames.ethernet(type: 0x0800, payload: TestFrames.ipv4(protocol: 6, payload: Self.tcp(message)))
        func decodeCut(_ frame: [UInt8], keeping length: Int, wire: Int) -> (DNSStatus?, DNSAnswers) {
            Array(frame.prefix(length)).withUnsafeBytes { raw in
                var summary = PacketSummary()
                _ = PacketDecoder.decode(raw, wireLength: wire, linkType: .ethernet, into: &summary)
                var answers = DNSAnswers()
                return (DNSResponseDecoder.decode(frame: raw, summary: summary, wireLength: wire, into: &answers), answers)
            }
        }
        // Each A record with a compressed owner is 16 bytes: 5 of the third are kept.
        for frame in [udp, tcp] {
            let (status, answers) = decodeCut(frame, keeping: frame.count - 11, wire: frame.count)
            #expect(status == .partial)
            #expect(addresses(answers) == ["192.0.2.1", "192.0.2.2"])
            #expect(answers.nameText == "pool.example")
            // Sent short: the wire carried only what was captured.
            let (short, shortAnswers) = decodeCut(frame, keeping: frame.count - 11, wire: frame.count - 11)
            #expect(short == .truncated)
            #expect(shortAnswers.count == 0)
            // Cut inside the first answer: nothing whole to name.
            let (early, earlyAnswers) = decodeCut(frame, keeping: frame.count - 40, wire: frame.count)
            #expect(early == .truncated)
            #expect(earlyAnswers.count == 0)
            // Whole: every answer.
            #expect(decodeCut(frame, keeping: frame.count, wire: frame.count).0 == .ok)
        }
    }

    /// `decode` counts a response without writing its name out; `readQuestionName` does,
    /// and leaves none for a message whose question does not read whole.
    @Test func theNameIsWrittenOutOnlyWhenRead() {
        var m = DNSMessageBuilder(answers: 1)
        m.question("Mail.Example.COM")
        m.a("mail.example.com", "192.0.2.7")
        var answers = DNSAnswers()
        m.bytes.withUnsafeBytes { message in
            #expect(DNSResponseDecoder.decode(message, into: &answers) == .ok)
            #expect(answers.nameLength == 0)
            #expect(addresses(answers) == ["192.0.2.7"])
            DNSResponseDecoder.readQuestionName(message, into: &answers)
        }
        #expect(answers.nameText == "mail.example.com")
        Array(m.bytes.prefix(16)).withUnsafeBytes { DNSResponseDecoder.readQuestionName($0, into: &answers) }
        #expect(answers.nameLength == 0)
    }

    @Test func ttlsWithTheTopBitSetAreZero() {
        var m = DNSMessageBuilder(answers: 1)
        m.question("odd.example")
        m.a("odd.example", "10.0.0.1", ttl: 0x8000_0001)
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.ttls[0] == 0)
    }

    @Test func aLongChainStaysOnTheStack() {
        // Eight names fill both halves of the chain's space; the ninth is not followed.
        var m = DNSMessageBuilder(answers: 9)
        let names = (0..<9).map { "n\($0)." + String(repeating: "x", count: 60) + ".example" }
        m.question(names[0])
        for index in 0..<8 { m.cname(names[index], names[index + 1]) }
        m.a(names[7], "10.7.7.7")
        let (status, answers) = decodeDNS(m.bytes)
        #expect(status == .ok)
        #expect(answers.nameText == names[0])
        #expect(addresses(answers) == ["10.7.7.7"])
    }
}

extension DNSResponseDecoder {
    /// `decode` of the message in `frame`, which `PacketDecoder` decoded into `summary`,
    /// and its queried name when it answers its query.
    static func decode(frame: UnsafeRawBufferPointer, summary: PacketSummary, wireLength: Int? = nil,
                       into answers: inout DNSAnswers) -> DNSStatus? {
        let status = decode(frame: frame, span: summary.transportSpan, wireLength: wireLength, into: &answers)
        if status?.answersItsQuery == true { readQuestionName(frame: frame, span: summary.transportSpan, into: &answers) }
        return status
    }
}
