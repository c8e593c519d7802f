#if canImport(Glibc)
import Glibc
#endif

/// Finds the process that owns each socket: `/proc/PID/fd/*` links read `socket:[INODE]`,
/// and `/proc/PID/comm` names the process.
///
/// This is what dominates the cost of `ss -p`, so it runs on raw buffers: one
/// `readlinkat` per descriptor into a stack buffer, no path strings per descriptor,
/// and `comm` read only for processes that own a wanted socket.
public enum ProcessScanner {
    /// Owners found by one scan.
    public struct Result: Sendable {
        /// Socket inode to the name of its owning process (the lowest pid when shared).
        public var names: [UInt64: String] = [:]
        /// Processes that exited, or whose fd directory or comm could not be read, mid-scan.
        public var skippedProcesses = 0
        /// Descriptors whose link could not be read (closed mid-scan).
        public var skippedDescriptors = 0
    }

    /// Scans every process under `procRoot` for descriptors that refer to `inodes`.
    public static func scan(procRoot: String, inodes: some Sequence<UInt64>) -> Result {
        var owners: [UInt64: Int32] = [:]
        for inode in inodes where inode != 0 { owners[inode] = Int32.max }
        var result = Result()
        guard !owners.isEmpty else { return result }

        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            result.skippedProcesses += 1
            return result
        }
        defer { close(rootFD) }
        guard let root = fdopendir(dup(rootFD)) else { return result }
        defer { closedir(root) }

        var path = [CChar](repeating: 0, count: 32)
        var link = [UInt8](repeating: 0, count: 64)
        var ownerPIDs: [Int32] = []
        while let entry = readdir(root) {
            guard let pid = Self.pid(of: entry) else { continue }
            Self.write(pid: pid, suffix: "/fd", into: &path)
            let fdDirFD = openat(rootFD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fdDirFD >= 0, let fdDir = fdopendir(fdDirFD) else {
                if fdDirFD >= 0 { close(fdDirFD) }
                result.skippedProcesses += 1
                continue
            }
            var owns = false
            while let fdEntry = readdir(fdDir) {
                let length = withUnsafePointer(to: &fdEntry.pointee.d_name) { name in
                    name.withMemoryRebound(to: CChar.self, capacity: 256) { name -> Int in
                        if name[0] == 0x2E { return 0 }  // "." and ".."
                        return link.withUnsafeMutableBufferPointer { buffer in
                            readlinkat(fdDirFD, name, buffer.baseAddress!, buffer.count)
                        }
                    }
                }
                if length < 0 {
                    result.skippedDescriptors += 1
                    continue
                }
                guard let inode = Self.socketInode(link, length: length),
                      let slot = owners.index(forKey: inode) else { continue }
                if pid < owners.values[slot] { owners.values[slot] = pid }
                owns = true
            }
            closedir(fdDir)
            if owns { ownerPIDs.append(pid) }
        }

        var comms: [Int32: String] = [:]
        comms.reserveCapacity(ownerPIDs.count)
        for pid in ownerPIDs {
            Self.write(pid: pid, suffix: "/comm", into: &path)
            if let comm = Self.readComm(rootFD: rootFD, path: path, buffer: &link) {
                comms[pid] = comm
            } else {
                result.skippedProcesses += 1
            }
        }
        result.names.reserveCapacity(owners.count)
        for (inode, pid) in owners where pid != Int32.max {
            if let comm = comms[pid] { result.names[inode] = comm }
        }
        return result
    }

    /// The pid a `/proc` entry names, or nil for non-process entries.
    private static func pid(of entry: UnsafeMutablePointer<dirent>) -> Int32? {
        withUnsafePointer(to: &entry.pointee.d_name) { name in
            name.withMemoryRebound(to: UInt8.self, capacity: 256) { name -> Int32? in
                var value: Int32 = 0
                var index = 0
                while name[index] != 0 {
                    let digit = name[index] &- 0x30
                    guard digit < 10, index < 10 else { return nil }
                    value = value &* 10 &+ Int32(digit)
                    index += 1
                }
                return index > 0 ? value : nil
            }
        }
    }

    /// The inode in a `socket:[INODE]` link target.
    static func socketInode(_ link: [UInt8], length: Int) -> UInt64? {
        // "socket:[" is 8 bytes; the shortest target is "socket:[1]".
        guard length >= 10, length <= link.count,
              link[0] == 0x73, link[1] == 0x6F, link[2] == 0x63, link[3] == 0x6B,
              link[4] == 0x65, link[5] == 0x74, link[6] == 0x3A, link[7] == 0x5B,
              link[length - 1] == 0x5D
        else { return nil }
        var inode: UInt64 = 0
        for index in 8..<(length - 1) {
            let digit = link[index] &- 0x30
            guard digit < 10, index < 28 else { return nil }
            inode = inode &* 10 &+ UInt64(digit)
        }
        return inode
    }

    private static func write(pid: Int32, suffix: StaticString, into path: inout [CChar]) {
        var digits: [CChar] = []
        var value = pid
        repeat {
            digits.append(CChar(0x30 + value % 10))
            value /= 10
        } while value > 0
        var index = 0
        for digit in digits.reversed() {
            path[index] = digit
            index += 1
        }
        suffix.withUTF8Buffer { suffix in
            for byte in suffix {
                path[index] = CChar(bitPattern: byte)
                index += 1
            }
        }
        path[index] = 0
    }

    private static func readComm(rootFD: Int32, path: [CChar], buffer: inout [UInt8]) -> String? {
        let fd = openat(rootFD, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard count > 0 else { return nil }
        var end = count
        if buffer[end - 1] == 0x0A { end -= 1 }
        return String(decoding: buffer[0..<end], as: UTF8.self)
    }
}
