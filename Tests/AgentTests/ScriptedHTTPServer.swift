import Foundation
import Glibc
import Synchronization

/// A real HTTP server on 127.0.0.1 for the fetch tests: it reads each request's head and
/// hands the connection to `respond`, which writes whatever it likes (a good answer, a
/// body dripped byte by byte, nothing at all). One thread per connection; `open` counts
/// the connections whose handler has not returned yet.
final class ScriptedHTTPServer: @unchecked Sendable {
    /// Writes to a connection; false once the client has gone.
    struct Connection {
        let fd: Int32
        /// The request head as received (request line and header fields).
        var head = ""
        func write(_ text: String) -> Bool { write(Array(text.utf8)) }
        func write(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if sent <= 0 { return false }
                    offset += sent
                }
                return true
            }
        }
    }

    let port: UInt16
    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    private let openConnections = Atomic<Int>(0)
    private let respond: Mutex<@Sendable (Connection) -> Void>

    init(respond: @escaping @Sendable (Connection) -> Void) throws {
        self.respond = Mutex(respond)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard fd >= 0, bound else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in acceptLoop() }.start()
    }

    /// Replaces the behaviour for the connections that come next.
    func setResponse(_ body: @escaping @Sendable (Connection) -> Void) { respond.withLock { $0 = body } }

    /// Connections still being answered.
    var open: Int { openConnections.load(ordering: .acquiring) }

    var url: String { "http://127.0.0.1:\(port)/" }

    func stop() {
        stopping.store(true, ordering: .releasing)
    }

    deinit {
        stop()
        close(listener)
    }

    private func acceptLoop() {
        while !stopping.load(ordering: .acquiring) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            openConnections.add(1, ordering: .acquiringAndReleasing)
            let handler = respond.withLock { $0 }
            Thread { [self] in
                defer {
                    close(client)
                    openConnections.subtract(1, ordering: .acquiringAndReleasing)
                }
                // Read the request head; the fetcher sends no body.
                var head: [UInt8] = []
                var byte: UInt8 = 0
                while head.count < 65536, recv(client, &byte, 1, 0) == 1 {
                    head.append(byte)
                    if head.suffix(4) == [13, 10, 13, 10] { break }
                }
                handler(Connection(fd: client, head: String(decoding: head, as: UTF8.self)))
            }.start()
        }
    }
}
