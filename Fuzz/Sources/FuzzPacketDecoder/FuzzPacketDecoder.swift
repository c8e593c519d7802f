import PacketDecoding

/// libFuzzer entry point. The first input byte picks the link type, the next two a wire
/// length offset; the rest is the frame, decoded straight from libFuzzer's buffer, which
/// is exactly the input's size, so AddressSanitizer reports any read past the frame.
/// An accepted frame that breaks one of the decoder's promises aborts the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let linkTypes = LinkType.allCases
    let linkType = linkTypes[Int(data[0]) % linkTypes.count]
    let frame = UnsafeRawBufferPointer(start: data + 3, count: size - 3)
    // -256...65279 around the captured length: shorter (corrupt records) and longer.
    let wireLength = frame.count + (Int(data[1]) << 8 | Int(data[2])) - 256
    var summary = PacketSummary()
    let status = PacketDecoder.decode(frame, wireLength: wireLength, linkType: linkType, into: &summary)
    guard status == .ok else { return 0 }
    switch summary.ipVersion {
    case 4:
        check(summary.source.isIPv4 && summary.destination.isIPv4, "IPv4 summary with a non-IPv4 address")
        check(summary.ipBytes >= 20, "IPv4 summary shorter than its header")
    case 6:
        check(summary.ipBytes >= 40, "IPv6 summary shorter than its header")
    default:
        check(false, "ok without an IP version")
    }
    if summary.hasPorts {
        check(summary.ipProtocol == 6 || summary.ipProtocol == 17, "ports on a protocol without ports")
        check(!summary.isFragment || summary.isFirstFragment, "ports on a later fragment")
    } else {
        check(summary.sourcePort == 0 && summary.destinationPort == 0, "ports set without hasPorts")
    }
    check(summary.tcpFlags == 0 || summary.ipProtocol == 6, "TCP flags on another protocol")
    check(!summary.isFirstFragment || summary.isFragment, "first fragment that is not a fragment")
    check(summary.isFragment || summary.fragmentID == 0, "fragment ID outside a fragment")
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("decoder invariant broken: \(message)") }
}
