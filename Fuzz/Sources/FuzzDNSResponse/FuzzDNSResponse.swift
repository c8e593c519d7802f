import PacketDecoding

/// libFuzzer entry point. The first input byte picks the path: 0 decodes the rest as a
/// DNS message (a UDP payload), anything else picks a link type and decodes the rest as a
/// captured frame, then as the DNS response it may carry (UDP or TCP from port 53), the
/// way the capture thread does. Each read is straight from libFuzzer's buffer, so
/// AddressSanitizer reports any read past it; an accepted answer that breaks one of the
/// decoder's promises aborts the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var answers = DNSAnswers()
    let status: DNSStatus
    if data[0] == 0 {
        status = DNSResponseDecoder.decode(input, into: &answers)
    } else {
        let linkTypes = LinkType.allCases
        var summary = PacketSummary()
        guard PacketDecoder.decode(input, wireLength: input.count, linkType: linkTypes[Int(data[0]) % linkTypes.count],
                                   into: &summary) == .ok,
              summary.hasPorts, summary.sourcePort == 53 || summary.destinationPort == 53,
              let decoded = DNSResponseDecoder.decode(frame: input, summary: summary, into: &answers) else { return 0 }
        status = decoded
    }
    guard status == .ok else { return 0 }
    check(answers.count >= 1 && answers.count <= DNSAnswers.capacity, "ok with no address, or more than it keeps")
    // 0 is the root name (a question for "."), which the name table ignores.
    check(answers.nameLength >= 0 && answers.nameLength <= DNSAnswers.maxNameLength, "name length out of bounds")
    for index in 0..<answers.nameLength {
        check(DNSAnswers.isNameByte(answers.name[index]), "a name byte the decoder does not write")
    }
    check(answers.droppedAddresses >= 0, "negative dropped addresses")
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("DNS decoder invariant broken: \(message)") }
}
