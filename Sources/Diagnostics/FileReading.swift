#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole small file (a config, a certificate, a /proc file): at most `limit` bytes,
/// more is an error (EFBIG) rather than an unbounded read of whatever the path names.
/// With `followingSymlinks` false, a symlink at `path` is an error (ELOOP) rather than
/// a way to make the reader open another file.
public func readFile(_ path: String, limit: Int, followingSymlinks: Bool = true) throws(SystemCallError) -> [UInt8] {
    let flags = O_RDONLY | O_CLOEXEC | (followingSymlinks ? 0 : O_NOFOLLOW)
    let fd = try systemCall("open", path) { open(path, flags) }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: min(limit + 1, 4096))
    var used = 0
    while true {
        if used == bytes.count {
            guard bytes.count <= limit else { throw SystemCallError(call: "read", subject: path, errno: EFBIG) }
            bytes.append(contentsOf: repeatElement(0, count: min(bytes.count, limit + 1 - bytes.count)))
        }
        let count = try systemCall("read", path) {
            bytes.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + used, raw.count - used) }
        }
        if count == 0 { break }
        used += count
    }
    return Array(bytes[..<used])
}
