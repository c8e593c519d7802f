import Sockets

/// libFuzzer entry point: the first input byte picks the protocol, the rest is one
/// netlink sock_diag reply buffer, parsed straight from libFuzzer's buffer so that
/// AddressSanitizer reports any read past it. A reply can only yield entries or a
/// thrown error, and never more entries than messages fit in it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSockDiag(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let proto: TransportProtocol = data[0] & 1 == 0 ? .tcp : .udp
    let reply = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var entries: [SocketEntry] = []
    do {
        _ = try SockDiagParser.parse(reply, protocol: proto, into: &entries)
    } catch {
        check(!String(describing: error).contains("\n"), "error message spans lines")
    }
    // A socket message is a 16-byte header and a 72-byte inet_diag_msg at least.
    check(entries.count <= reply.count / 88, "more entries than messages fit in the reply")
    for entry in entries { check(entry.protocol == proto, "entry of another protocol") }
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("sock_diag parser invariant broken: \(message)") }
}
