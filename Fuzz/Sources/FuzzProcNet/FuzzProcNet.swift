import Sockets

/// libFuzzer entry point: the first input byte picks the protocol, the rest is the text
/// of one /proc/net/{tcp,tcp6,udp,udp6} table, parsed straight from libFuzzer's buffer so
/// that AddressSanitizer reports any read past it. A table yields at most one entry per
/// line after the header, or a one-line error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcNet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let proto: TransportProtocol = data[0] & 1 == 0 ? .tcp : .udp
    let table = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var entries: [SocketEntry] = []
    do {
        try ProcNetParser.parse(table, protocol: proto, into: &entries)
    } catch {
        check(!String(describing: error).contains("\n"), "error message spans lines")
    }
    let lines = table.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    check(entries.count < lines, "more entries than rows")
    for entry in entries { check(entry.protocol == proto, "entry of another protocol") }
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("/proc/net parser invariant broken: \(message)") }
}
