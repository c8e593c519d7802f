import NetAddress
import PacketDecoding
import TestSupport
import Testing


/// What must hold for every frame the decoder accepts, whatever its bytes.
private func checkInvariants(_ summary: PacketSummary, frameCount: Int, context: @autoclosure () -> String) {
    switch summary.ipVersion {
    case 4:
        #expect(summary.source.isIPv4 && summary.destination.isIPv4, "\(context())")
        #expect(summary.ipBytes >= 20, "\(context())")
    case 6:
        #expect(summary.ipBytes >= 40, "\(context())")
    default:
        Issue.record("ok with IP version \(summary.ipVersion): \(context())")
    }
    if summary.hasPorts {
        #expect(summary.ipProtocol == 6 || summary.ipProtocol == 17, "\(context())")
        #expect(!summary.isFragment || summary.isFirstFragment, "\(context())")
    } else {
        #expect(summary.sourcePort == 0 && summary.destinationPort == 0, "\(context())")
    }
    if summary.tcpFlags != 0 { #expect(summary.ipProtocol == 6 && summary.hasPorts, "\(context())") }
    if summary.isFirstFragment { #expect(summary.isFragment, "\(context())") }
    if !summary.isFragment { #expect(summary.fragmentID == 0, "\(context())") }
}

@Suite struct PacketMutationTests {
    /// The seed frames decode as built, so the mutations start from every header case.
    @Test func seedFramesDecodeAsBuilt() {
        let decoded = TestFrames.corpus().map { TestFrames.decode($0.1, linkType: $0.0) }
        #expect(decoded.map(\.0) == [.ok, .ok, .ok, .ok, .ok, .ok, .notIP, .ok, .ok, .ok, .ok, .ok, .ok, .ok, .ok, .ok, .ok])
        #expect(decoded.map(\.1.hasPorts) == [true, true, true, true, false, false, false, true, true, false, true, false, true, false, false,
                                               true, true])
        #expect(decoded.map(\.1.ipProtocol) == [6, 17, 17, 6, 6, 6, 0, 6, 6, 50, 6, 58, 6, 1, 59, 6, 6])
    }

    /// Every prefix of every valid frame: ok exactly when the addresses were captured,
    /// and then with the same length, addresses and protocol family as the whole frame.
    @Test func everyCutOfEveryValidFrame() {
        for (index, (linkType, frame)) in TestFrames.corpus().enumerated() {
            let (wholeStatus, whole) = TestFrames.decode(frame, linkType: linkType)
            for length in 0...frame.count {
                let (status, summary) = TestFrames.decode(Array(frame.prefix(length)), wireLength: frame.count, linkType: linkType)
                let context = "frame \(index) cut at \(length)"
                if wholeStatus != .ok {
                    #expect(status != .ok, "\(context)")
                    continue
                }
                guard status == .ok else {
                    #expect(status == .truncated, "\(context): \(status)")
                    continue
                }
                checkInvariants(summary, frameCount: length, context: context)
                #expect(summary.ipBytes == whole.ipBytes && summary.source == whole.source, "\(context)")
                #expect(summary.destination == whole.destination && summary.ipVersion == whole.ipVersion, "\(context)")
                if summary.hasPorts {
                    #expect(summary.sourcePort == whole.sourcePort && summary.destinationPort == whole.destinationPort, "\(context)")
                }
            }
            // The whole frame is ok once cut to nothing shorter: the last cut is the frame.
            #expect(TestFrames.decode(frame, linkType: linkType).1 == whole)
        }
    }

    /// 200,000 frames with corrupted bytes, random cuts and random wire lengths: the
    /// decoder never reads outside the buffer (the debug assertions and the exact-size
    /// buffers see to that), never traps, and what it accepts satisfies the invariants.
    @Test func corruptedFramesNeverCrash() {
        var random = SplitMix(seed: 0x5EED_0F_DEC0DE)
        let corpus = TestFrames.corpus()
        let linkTypes = LinkType.allCases
        var statusCounts = [DecodeStatus: Int]()
        for round in 0..<200_000 {
            let (seedLink, seedFrame) = corpus[Int.random(in: 0..<corpus.count, using: &random)]
            var frame = seedFrame
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                // Most corruption lands in the headers, where the decisions are made.
                let limit = Swift.min(frame.count, Bool.random(using: &random) ? 80 : frame.count)
                frame[Int.random(in: 0..<limit, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Int.random(in: 0..<4, using: &random) == 0 {
                frame = Array(frame.prefix(Int.random(in: 0...frame.count, using: &random)))
            }
            let linkType = Int.random(in: 0..<8, using: &random) == 0 ? linkTypes.randomElement(using: &random)! : seedLink
            let wireLength = Int.random(in: 0..<4, using: &random) == 0 ? Int.random(in: -10...200_000, using: &random) : seedFrame.count
            let (status, summary) = TestFrames.decode(frame, wireLength: wireLength, linkType: linkType)
            statusCounts[status, default: 0] += 1
            if status == .ok {
                checkInvariants(summary, frameCount: frame.count, context: "round \(round): \(linkType) \(frame)")
            }
            #expect(status != .unsupportedLink)
        }
        // The mutations must exercise every outcome the decoder can give, or they are
        // not testing much.
        for status in DecodeStatus.allCases where status != .unsupportedLink {
            #expect(statusCounts[status, default: 0] > 100, "\(status): \(statusCounts)")
        }
    }
}
