#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces the small file at `path` with `bytes`, so that a reader sees the old file or
/// the new one, whole, even after a crash or a power loss. The bytes go to `path.tmp`,
/// created afresh with `mode` (O_CREAT | O_EXCL | O_NOFOLLOW: a symlink or file planted at
/// that name is never written through), are flushed (fsync), renamed over `path`, and the
/// directory is flushed so the rename itself lasts. A temporary file left by a crash is
/// unlinked first (unlink removes a symlink, never what it points to).
public func replaceFile(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(SystemCallError) {
    let temporary = path + ".tmp"
    if unlink(temporary) != 0 && errno != ENOENT {
        throw SystemCallError(call: "unlink", subject: temporary, errno: errno)
    }
    let fd = try systemCall("open", temporary) {
        open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    }
    do throws(SystemCallError) {
        let failure = bytes.withUnsafeBytes { raw -> SystemCallError? in
            do throws(SystemCallError) { try writeAll(fd, raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
        try systemCall("fsync", temporary) { fsync(fd) }
    } catch {
        close(fd)
        unlink(temporary)
        throw error
    }
    close(fd)
    do throws(SystemCallError) {
        try systemCall("rename", temporary) { rename(temporary, path) }
    } catch {
        unlink(temporary)
        throw error
    }
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let directoryFD = try systemCall("open", directory) { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(directoryFD) }
    try systemCall("fsync", directory) { fsync(directoryFD) }
}

/// Moves the file at `path` (or a symlink there, never what it points to) to `path.bad`,
/// replacing an older one, so a file that cannot be used is kept for a person to look at
/// and the next run starts without it. Returns the new name.
@discardableResult
public func setAside(_ path: String) throws(SystemCallError) -> String {
    let aside = path + ".bad"
    try systemCall("rename", path) { rename(path, aside) }
    return aside
}
