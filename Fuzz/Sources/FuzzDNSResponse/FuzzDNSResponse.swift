import PacketDecoding

/// libFuzzer entry point. The first input byte picks the path: 0 decodes the rest as a
/// DNS message (a UDP payload), 1 as a message the capture cut, anything else picks a link
/// type (and with its top bit, a frame the capture cut) and decodes the rest as a captured frame, then as the DNS response it may carry (UDP or TCP from port 53), the
/// way the capture thread does. Each read is straight from libFuzzer's buffer, so
/// AddressSanitizer reports any read past it; an accepted answer that breaks one of the
/// decoder's promises aborts the run. A response that names something has its queried
/// name read (`readQuestionName`) as the capture reads it for a response that answers a query.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var answers = DNSAnswers()
    let status: DNSStatus
    if data[0] <= 1 {
        status = DNSResponseDecoder.decode(input, into: &answers, cut: data[0] == 1)
        if status.answersItsQuery {
            DNSResponseDecoder.readQuestionName(input, into: &answers)
        }
    } else {
        let linkTypes = LinkType.allCases
        var summary = PacketSummary()
        guard PacketDecoder.decode(input, wireLength: input.count, linkType: linkTypes[Int(data[0]) % linkTypes.count],
                                   into: &summary) == .ok,
              summary.hasPorts, summary.sourcePort == 53 || summary.destinationPort == 53,
              // With the top bit of the first byte, the wire carried more than the frame.
              let decoded = DNSResponseDecoder.decode(frame: input, span: summary.transportSpan,
                                                      wireLength: input.count + Int(data[0] >> 7), into: &answers)
        else { return 0 }
        status = decoded
        if status.answersItsQuery {
            DNSResponseDecoder.readQuestionName(frame: input, span: summary.transportSpan, into: &answers)
        }
    }
    // The name of a response that names something is read as the capture reads it for a
    // matched one: the question `decode` accepted reads whole again.
    check(answers.nameLength >= 0 && answers.nameLength <= DNSAnswers.maxNameLength, "name length out of bounds")
    guard status == .ok || status == .partial else { return 0 }
    check(answers.count >= 1 && answers.count <= DNSAnswers.capacity, "ok or partial with no address, or more than it keeps")
    for index in 0..<answers.nameLength {
        check(DNSAnswers.isNameByte(answers.name[index]), "a name byte the decoder does not write")
    }
    check(answers.droppedAddresses >= 0, "negative dropped addresses")
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("DNS decoder invariant broken: \(message)") }
}
