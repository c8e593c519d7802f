#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Names the calling thread, so `top -H`, `ps -L` and /proc/PID/task/*/comm show which
/// of the agent's threads is which (`pe-cap-eth0`, `pe-aggregator`). Linux keeps at
/// most 15 bytes of a name: a longer one is cut there, at a character boundary. Best
/// effort: a thread whose name cannot be set keeps the one it inherited.
public func nameCurrentThread(_ name: String) {
    var cut = Substring(name)
    while cut.utf8.count > 15 { cut = cut.dropLast() }
    #if os(Linux)
    // pthread_setname_np is a GNU extension the C library module does not export; the
    // kernel's own interface is this file.
    guard let descriptor = try? systemCall("open", "/proc/thread-self/comm", { open("/proc/thread-self/comm", O_WRONLY) })
    else { return }
    defer { close(descriptor) }
    let bytes = Array(cut.utf8)
    bytes.withUnsafeBytes { try? writeAll(descriptor, $0) }
    #elseif canImport(Darwin)
    _ = pthread_setname_np(String(cut))
    #endif
}
