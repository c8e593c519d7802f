// Times a full socket-table read with process names while this process holds N
// established loopback TCP connections, in-process and side by side with `ss` under
// hyperfine.
//
//   sockets-bench [--connections N] [--iterations K] [--runs R]
//   sockets-bench serve N                   (internal: holds the server ends)
//
// hyperfine runs `sockets-read` (built beside this binary) for the one-shot reads.
import Foundation
import Sockets

#if canImport(Glibc)
import Glibc
#endif

let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sockets-bench: \(message)\n".utf8))
    exit(1)
}

func source(_ name: String?) -> SocketTableReader.Source {
    switch name {
    case nil, "netlink": .netlink
    case "procfs": .procfs
    default: fail("unknown source \(name!) (netlink or procfs)")
    }
}

/// One full read; with `units`, each owner's unit too (-process-unit-label, the agent's default).
func readOnce(_ source: SocketTableReader.Source, units: ProcessUnitResolver? = nil) -> SocketSnapshot {
    do {
        return try SocketTableReader(source: source, units: units).read()
    } catch {
        fail("\(error)")
    }
}

func milliseconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// Raises the soft descriptor limit to what `count` sockets need, within the hard limit.
func raiseDescriptorLimit(for count: Int) {
    var limit = rlimit()
    getrlimit(RLIMIT_NOFILE_VALUE, &limit)
    let needed = rlim_t(count + 256)
    guard limit.rlim_cur < needed else { return }
    limit.rlim_cur = needed
    if limit.rlim_max < needed { limit.rlim_max = needed }
    if setrlimit(RLIMIT_NOFILE_VALUE, &limit) != 0 {
        fail("cannot raise RLIMIT_NOFILE to \(needed): \(String(cString: strerror(errno))); lower --connections")
    }
}

func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}

let addressLength = socklen_t(MemoryLayout<sockaddr_in>.size)

/// The server side, run as a child process so that each process holds one end of
/// every connection (the hard descriptor limit may not fit both): listens on
/// 127.0.0.1, prints the port, accepts `count` connections, prints "ready", and holds
/// them until its standard input closes.
func serve(_ count: Int) -> Never {
    raiseDescriptorLimit(for: count)
    var address = loopback(port: 0)
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, addressLength) } }
    guard listener >= 0, bound == 0, listen(listener, 1024) == 0 else { fail("listener: \(String(cString: strerror(errno)))") }
    var length = addressLength
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
    say("\(UInt16(bigEndian: address.sin_port))")
    var accepted: [Int32] = []
    // Bounded in time: the parent's connects fail first if something is wrong.
    alarm(180)
    for _ in 0..<count {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { fail("accept: \(String(cString: strerror(errno)))") }
        accepted.append(fd)
    }
    alarm(0)
    say("ready")
    _ = FileHandle.standardInput.readDataToEndOfFile()
    exit(0)
}

/// Writes a line to the parent unbuffered.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Opens `count` established loopback connections whose server ends a child process holds.
func openConnections(_ count: Int) -> (client: [Int32], server: Process, hold: Pipe) {
    raiseDescriptorLimit(for: count)
    let server = Process()
    server.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    server.arguments = ["serve", String(count)]
    let hold = Pipe()
    let output = Pipe()
    server.standardInput = hold
    server.standardOutput = output
    do { try server.run() } catch { fail("cannot start the server process: \(error)") }
    var lines = LineReader(handle: output.fileHandleForReading)
    guard let portLine = lines.next(), let port = UInt16(portLine) else { fail("server process gave no port") }
    var address = loopback(port: port)
    var clients: [Int32] = []
    clients.reserveCapacity(count)
    for index in 0..<count {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let result = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, addressLength) } }
        guard fd >= 0, result == 0 else { fail("connect #\(index): \(String(cString: strerror(errno)))") }
        clients.append(fd)
    }
    guard lines.next() == "ready" else { fail("server process did not accept every connection") }
    return (clients, server, hold)
}

/// Lines from a pipe, read a byte at a time (only a few short lines are expected).
struct LineReader {
    let handle: FileHandle

    mutating func next() -> String? {
        var line: [UInt8] = []
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte[byte.startIndex] == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(byte[byte.startIndex])
        }
    }
}

/// CPU time (user + system) this process has used, in milliseconds.
func cpuMilliseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func ms(_ t: timeval) -> Double { Double(t.tv_sec) * 1000 + Double(t.tv_usec) / 1000 }
    return ms(usage.ru_utime) + ms(usage.ru_stime)
}

var arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "serve", let count = arguments.dropFirst().first.flatMap(Int.init) {
    serve(count)
}
var connections = 10_000
var iterations = 20
var runs = 20
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    guard let value = arguments.first.flatMap(Int.init), value > 0 else { fail("\(flag) needs a positive number") }
    arguments.removeFirst()
    switch flag {
    case "--connections": connections = value
    case "--iterations": iterations = value
    case "--runs": runs = value
    default: fail("unknown option \(flag)")
    }
}

let (clients, server, hold) = openConnections(connections)
print("holding \(connections) established loopback connections (client ends here, server ends in pid \(server.processIdentifier))")

// Units are read as the agent reads them: one resolver for every reading.
let units = ProcessUnitResolver()
for (kind, withUnits) in [("netlink", false), ("netlink", true), ("procfs", false)] {
    var times: [Double] = []
    var found = 0
    let cpuStart = cpuMilliseconds()
    for _ in 0..<iterations {
        times.append(milliseconds {
            let snapshot = readOnce(source(kind), units: withUnits ? units : nil)
            found = snapshot.sockets.reduce(0) { $0 + ($1.processName == nil ? 0 : 1) }
        })
    }
    let cpu = (cpuMilliseconds() - cpuStart) / Double(iterations)
    times.sort()
    print(String(format: "in-process %@ read + names%@: median %.2f ms, min %.2f ms, CPU %.2f ms/read (%d sockets named)",
                 kind, withUnits ? " + units" : "", times[times.count / 2], times[0], cpu, found))
    guard found >= connections else { fail("named only \(found) sockets; expected at least \(connections)") }
}
for kind in ["netlink", "procfs"] {
    var times: [Double] = []
    let cpuStart = cpuMilliseconds()
    for _ in 0..<iterations {
        times.append(milliseconds { _ = try? SocketTableReader(source: source(kind)).readTable() })
    }
    let cpu = (cpuMilliseconds() - cpuStart) / Double(iterations)
    times.sort()
    print(String(format: "in-process %@ table only: median %.2f ms, min %.2f ms, CPU %.2f ms/read", kind, times[times.count / 2], times[0], cpu))
}

let reader = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    .deletingLastPathComponent().appendingPathComponent("sockets-read").path
let hyperfine = Process()
hyperfine.executableURL = URL(fileURLWithPath: "/usr/bin/hyperfine")
hyperfine.arguments = ["-N", "--warmup", "3", "--runs", String(runs),
                       "ss -tanp", "ss -tan", "\(reader) netlink", "\(reader) procfs"]
do {
    try hyperfine.run()
} catch {
    fail("cannot run hyperfine: \(error)")
}
hyperfine.waitUntilExit()
for fd in clients { close(fd) }
try? hold.fileHandleForWriting.close()
server.waitUntilExit()
exit(hyperfine.terminationStatus)
