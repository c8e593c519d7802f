#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call that failed: which call, on what, and the C library's text for errno.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call, e.g. "read".
    public let call: String
    /// What it was called on (a path, "netlink"), or "".
    public let subject: String
    /// errno after the call.
    public let errno: Int32

    public init(call: String, subject: String = "", errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = errno
    }

    /// `read /proc/net/tcp: Permission denied`.
    public var description: String {
        let reason = String(cString: strerror(errno))
        return subject.isEmpty ? "\(call): \(reason)" : "\(call) \(subject): \(reason)"
    }
}

/// Every system call of the project goes through here: a call interrupted by a signal
/// (EINTR) is retried, any other failure (a negative result) is thrown with its errno.
@discardableResult
public func systemCall<Result: BinaryInteger>(
    _ call: String, _ subject: @autoclosure () -> String = "", _ body: () -> Result
) throws(SystemCallError) -> Result {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemCallError(call: call, subject: subject(), errno: code)
    }
}

/// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR.
public func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
    var offset = 0
    while offset < bytes.count {
        offset += try systemCall("write") { write(descriptor, bytes.baseAddress! + offset, bytes.count - offset) }
    }
}
