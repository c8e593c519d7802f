// One full socket-table read with process names, then the number of sockets found: the
// command hyperfine times beside `ss`. Without Foundation, so that process start-up
// costs about what `ss`'s does.
//
//   sockets-read [netlink|procfs]
import Sockets

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, status: Int32) -> Never {
    let line = Array("sockets-read: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}

let arguments = CommandLine.arguments.dropFirst()
let source: SocketTableReader.Source
switch arguments.first {
case nil, "netlink": source = .netlink
case "procfs": source = .procfs
case let other?:
    fail("unknown source \(other) (netlink or procfs)", status: 2)
}
do {
    let snapshot = try SocketTableReader(source: source).read()
    print(snapshot.sockets.count)
} catch {
    fail("\(error)", status: 1)
}
