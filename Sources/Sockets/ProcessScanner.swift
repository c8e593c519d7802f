import Diagnostics
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Finds the process that owns each socket: `/proc/PID/fd/N` links read `socket:[INODE]`,
/// `/proc/PID/comm` names the process, and `/proc/PID/cgroup` its unit or container.
///
/// One `readlinkat` per open descriptor of every process is the floor of this job and
/// what dominates the cost of `ss -p`, so the scan keeps everything else off that path:
/// links are read into a stack buffer, no path string is built per descriptor, `comm`
/// is read only for processes that own a wanted socket, and descriptors can be split
/// among threads. On procfs, where `stat` of `/proc/PID/fd` reports the number
/// of open descriptors (Linux 6.2 and later), the numbers below that count are probed
/// directly instead of listing them first (a listing instantiates every entry); the
/// directory is then listed from that count on, which procfs can seek to, so a
/// descriptor numbered past the count is still found.
public enum ProcessScanner {
    /// Owners found by one scan.
    public struct Result: Sendable {
        /// Socket inode to the name of its owning process (the lowest pid when shared).
        public var names: [UInt64: String] = [:]
        /// Socket inode to its owner's unit label, for the named sockets, when units are read.
        public var units: [UInt64: String] = [:]
        /// Processes that exited, or whose fd directory or comm could not be read, mid-scan.
        public var skippedProcesses = 0
        /// Descriptors whose link could not be read.
        public var skippedDescriptors = 0
        /// True when the owners of a previous scan were re-checked instead of scanning
        /// every process (`ProcessOwnerCache`).
        public var rechecked = false
        /// Where each named socket was found: the owner's pid and the descriptor number.
        var locations: [UInt64: (pid: Int32, descriptor: Int32)] = [:]
    }

    /// Descriptor numbers per unit of work.
    static let chunk: Int32 = 1024

    /// Scans every process under `procRoot` for descriptors that refer to `inodes`, on the
    /// calling thread: the socket-table thread, the only one whose capabilities reach
    /// other users' /proc/PID/fd (docs/security.md). With `units`, each owner's unit is
    /// read too.
    public static func scan(procRoot: String, inodes: some Sequence<UInt64>, units: ProcessUnitResolver? = nil) -> Result {
        var wanted: [UInt64: Int32] = [:]
        for inode in inodes where inode != 0 { wanted[inode] = Int32.max }
        var result = Result()
        guard !wanted.isEmpty else { return result }

        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            result.skippedProcesses += 1
            return result
        }
        defer { close(rootFD) }

        let processes = listProcesses(rootFD: rootFD, probing: isProcfs(rootFD))
        var items: [WorkItem] = []
        for (index, process) in processes.enumerated() {
            var start: Int32 = 0
            repeat {
                let end = min(start + chunk, process.probeEnd)
                items.append(WorkItem(process: index, start: start, end: end, listsRest: end == process.probeEnd))
                start += chunk
            } while start < process.probeEnd
        }
        var found = WorkerResult()
        let table = wanted
        for item in items {
            scan(item, processes: processes, rootFD: rootFD, wanted: table, into: &found)
        }

        var owners = Set<Int>()
        result.skippedDescriptors += found.skippedDescriptors
        for (inode, process, descriptor) in found.matches {
            let pid = processes[process].pid
            if let slot = wanted.index(forKey: inode), pid < wanted.values[slot] {
                wanted.values[slot] = pid
                result.locations[inode] = (pid, descriptor)
            }
            owners.insert(process)
        }
        result.skippedProcesses += Set(found.failed).count

        var comms: [Int32: String] = [:]
        var unitLabels: [Int32: String] = [:]
        var path = PathBuffer()
        var buffer = [UInt8](repeating: 0, count: cgroupFileLimit)
        for index in owners.sorted() {
            let pid = processes[index].pid
            path.set(pid: pid, suffix: "/comm")
            if let comm = readText(rootFD: rootFD, path: &path, buffer: &buffer) {
                comms[pid] = comm
                if let units { unitLabels[pid] = readUnit(pid: pid, rootFD: rootFD, path: &path, buffer: &buffer, units: units) }
            } else {
                result.skippedProcesses += 1
            }
        }
        result.names.reserveCapacity(wanted.count)
        for (inode, pid) in wanted where pid != Int32.max {
            if let comm = comms[pid] {
                result.names[inode] = comm
                if let unit = unitLabels[pid] { result.units[inode] = unit }
            } else {
                result.locations[inode] = nil
            }
        }
        return result
    }

    /// The longest `/proc/PID/cgroup` read: a v1 host's file has a line per hierarchy.
    static let cgroupFileLimit = 4096

    /// The unit label of `pid` ("" when its cgroup file cannot be read: it exited, or a
    /// procfs tree without one).
    private static func readUnit(pid: Int32, rootFD: Int32, path: inout PathBuffer, buffer: inout [UInt8],
                                 units: ProcessUnitResolver) -> String {
        path.set(pid: pid, suffix: "/cgroup")
        guard let text = readText(rootFD: rootFD, path: &path, buffer: &buffer) else { return "" }
        return units.label(cgroupFile: text[...])
    }

    /// The owners `previous` found, read again without scanning every process: each
    /// descriptor it found must still refer to its socket, and each owner's name is read
    /// again. Nil when one does not (the caller then scans). The skipped counts are
    /// those of `previous`, the scan the owners come from.
    static func recheck(procRoot: String, previous: Result, units: ProcessUnitResolver? = nil) -> Result? {
        let rootFD = open(procRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        var result = previous
        result.rechecked = true
        result.names.removeAll(keepingCapacity: true)
        result.units.removeAll(keepingCapacity: true)
        var comms: [Int32: String] = [:]
        var unitLabels: [Int32: String] = [:]
        var path = PathBuffer()
        var buffer = [UInt8](repeating: 0, count: cgroupFileLimit)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { link -> Result? in
            for (inode, location) in previous.locations {
                path.set(pid: location.pid, descriptor: location.descriptor)
                let length = path.withCString { readlinkat(rootFD, $0, link.baseAddress!, link.count) }
                guard length > 0, socketInode(UnsafeBufferPointer(rebasing: link[0..<length])) == inode else { return nil }
                if comms[location.pid] == nil {
                    path.set(pid: location.pid, suffix: "/comm")
                    guard let comm = readText(rootFD: rootFD, path: &path, buffer: &buffer) else { return nil }
                    comms[location.pid] = comm
                    if let units {
                        unitLabels[location.pid] = readUnit(pid: location.pid, rootFD: rootFD, path: &path, buffer: &buffer, units: units)
                    }
                }
                result.names[inode] = comms[location.pid]
                result.units[inode] = unitLabels[location.pid]
            }
            return result
        }
    }

    struct Process: Sendable {
        var pid: Int32
        /// Descriptor numbers below this are probed directly; 0 when the count is unknown.
        var probeEnd: Int32
    }

    /// Descriptor numbers `start..<end` of one process, and for the last such range of
    /// a process, every listed descriptor from `end` on.
    struct WorkItem: Sendable {
        var process: Int
        var start: Int32
        var end: Int32
        var listsRest: Bool
    }

    /// What the scan of the work items found.
    struct WorkerResult: Sendable {
        /// Socket inode, process index, descriptor number.
        var matches: [(UInt64, Int, Int32)] = []
        var failed: [Int] = []
        var skippedDescriptors = 0
    }

    /// True for a procfs mount, whose root directory is inode 1 (PROC_ROOT_INO). Only
    /// speed depends on this: the listing covers whatever is not probed.
    private static func isProcfs(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_ino == 1
    }

    /// The processes under the root, in pid order, with their descriptor counts when probing.
    private static func listProcesses(rootFD: Int32, probing: Bool) -> [Process] {
        guard let root = fdopendir(dup(rootFD)) else { return [] }
        defer { closedir(root) }
        var processes: [Process] = []
        var path = PathBuffer()
        while let entry = readdir(root) {
            guard let pid = Self.number(of: entry) else { continue }
            var count: Int32 = 0
            if probing {
                path.set(pid: pid, suffix: "/fd")
                var info = stat()
                if path.withCString({ fstatat(rootFD, $0, &info, 0) }) == 0 {
                    count = Int32(clamping: info.st_size)
                }
            }
            processes.append(Process(pid: pid, probeEnd: count))
        }
        // /proc lists in pid order already; a fixture tree may not.
        processes.sort { $0.pid < $1.pid }
        return processes
    }

    /// Reads the descriptors of one work item.
    private static func scan(_ item: WorkItem, processes: [Process], rootFD: Int32, wanted: [UInt64: Int32], into result: inout WorkerResult) {
        var path = PathBuffer()
        path.set(pid: processes[item.process].pid, suffix: "/fd")
        let dirFD = path.withCString { openat(rootFD, $0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard dirFD >= 0 else {
            result.failed.append(item.process)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { link in
            /// Reads one link; false when the rest of the process cannot be read either.
            func read(_ name: UnsafePointer<CChar>, _ descriptor: Int32) -> Bool {
                let length = readlinkat(dirFD, name, link.baseAddress!, link.count)
                if length < 0 {
                    switch errno {
                    case ENOENT:
                        return true  // a hole in the descriptor table, or closed meanwhile
                    case EACCES:
                        result.skippedDescriptors += 1
                        result.failed.append(item.process)
                        return false
                    default:
                        result.skippedDescriptors += 1
                        return true
                    }
                }
                if let inode = socketInode(UnsafeBufferPointer(rebasing: link[0..<length])), wanted[inode] != nil {
                    result.matches.append((inode, item.process, descriptor))
                }
                return true
            }

            var name = PathBuffer()
            for fd in item.start..<item.end {
                name.set(number: fd)
                guard name.withCString({ read($0, fd) }) else {
                    close(dirFD)
                    return
                }
            }
            guard item.listsRest else {
                close(dirFD)
                return
            }
            // procfs fd directories keep "descriptor number + 2" as the listing offset.
            if item.end > 0 { lseek(dirFD, off_t(item.end) + 2, SEEK_SET) }
            guard let directory = fdopendir(dirFD) else {
                close(dirFD)
                result.failed.append(item.process)
                return
            }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                guard let fd = Self.number(of: entry), fd >= item.end else { continue }
                let readable = withUnsafePointer(to: &entry.pointee.d_name) { name in
                    name.withMemoryRebound(to: CChar.self, capacity: 256) { read($0, fd) }
                }
                if !readable { return }
            }
        }
    }

    /// The number a `/proc` or fd directory entry names, or nil for other entries.
    private static func number(of entry: UnsafeMutablePointer<dirent>) -> Int32? {
        withUnsafePointer(to: &entry.pointee.d_name) { name in
            name.withMemoryRebound(to: UInt8.self, capacity: 256) { name -> Int32? in
                var value: Int32 = 0
                var index = 0
                while name[index] != 0 {
                    let digit = name[index] &- 0x30
                    guard digit < 10, index < 9 else { return nil }
                    value = value &* 10 &+ Int32(digit)
                    index += 1
                }
                return index > 0 ? value : nil
            }
        }
    }

    /// The inode in a `socket:[INODE]` link target.
    static func socketInode(_ link: UnsafeBufferPointer<UInt8>) -> UInt64? {
        // "socket:[" is 8 bytes; the shortest target is "socket:[1]".
        let length = link.count
        guard length >= 10, length <= 29,
              link[0] == 0x73, link[1] == 0x6F, link[2] == 0x63, link[3] == 0x6B,
              link[4] == 0x65, link[5] == 0x74, link[6] == 0x3A, link[7] == 0x5B,
              link[length - 1] == 0x5D
        else { return nil }
        var inode: UInt64 = 0
        for index in 8..<(length - 1) {
            let digit = link[index] &- 0x30
            guard digit < 10 else { return nil }
            inode = inode &* 10 &+ UInt64(digit)
        }
        return inode
    }

    /// A small procfs file (`comm`, `cgroup`) without its final newline, at most
    /// `buffer.count` bytes of it; nil when it cannot be read or is empty. procfs hands
    /// these files over whole in one read.
    private static func readText(rootFD: Int32, path: inout PathBuffer, buffer: inout [UInt8]) -> String? {
        let fd = path.withCString { openat(rootFD, $0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A process that exits meanwhile is simply skipped.
        guard let count = try? buffer.withUnsafeMutableBytes({ raw throws(SystemCallError) in
            try systemCall("read") { read(fd, raw.baseAddress!, raw.count) }
        }), count > 0 else { return nil }
        var end = count
        if buffer[end - 1] == 0x0A { end -= 1 }
        return String(decoding: buffer[0..<end], as: UTF8.self)
    }
}

/// A NUL-terminated relative path such as `1234/fd` or `17`, built without allocating.
struct PathBuffer {
    private var bytes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    mutating func set(number: Int32, suffix: StaticString = "") {
        withUnsafeMutableBytes(of: &bytes) { raw in
            var digits: (UInt64, UInt64) = (0, 0)
            var count = 0
            var value = UInt32(bitPattern: number)
            withUnsafeMutableBytes(of: &digits) { scratch in
                repeat {
                    scratch[count] = UInt8(0x30 + value % 10)
                    value /= 10
                    count += 1
                } while value > 0
                for index in 0..<count { raw[index] = scratch[count - 1 - index] }
            }
            var end = count
            suffix.withUTF8Buffer { suffix in
                for byte in suffix where end < raw.count - 1 {
                    raw[end] = byte
                    end += 1
                }
            }
            raw[end] = 0
        }
    }

    mutating func set(pid: Int32, suffix: StaticString) {
        set(number: pid, suffix: suffix)
    }

    /// `PID/fd/DESCRIPTOR`.
    mutating func set(pid: Int32, descriptor: Int32) {
        var tail = PathBuffer()
        tail.set(number: descriptor)
        set(number: pid, suffix: "/fd/")
        withUnsafeMutableBytes(of: &bytes) { raw in
            withUnsafeBytes(of: tail.bytes) { digits in
                var end = 0
                while raw[end] != 0 { end += 1 }
                var index = 0
                while digits[index] != 0 && end < raw.count - 1 {
                    raw[end] = digits[index]
                    end += 1
                    index += 1
                }
                raw[end] = 0
            }
        }
    }

    mutating func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        withUnsafeBytes(of: &bytes) { raw in body(raw.baseAddress!.assumingMemoryBound(to: CChar.self)) }
    }
}

/// Spares a reading the scan of every process when its sockets are exactly those of the
/// previous reading: the owners found then are re-checked descriptor by descriptor (see
/// `ProcessScanner.recheck`), which on a quiet host is most of the cost of a reading
/// saved. A socket that appeared or went, an owner that closed its descriptor or exited,
/// or a minute since the last full scan, means a full scan.
///
/// What a re-check cannot see is a new process sharing an unchanged socket with a lower
/// pid than its owner (the name rule picks the lowest pid), or a process that was given
/// a socket no process owned before; the scan at least once a minute bounds how long
/// either goes unseen.
public final class ProcessOwnerCache: Sendable {
    /// The longest time between two full scans.
    public static let fullScanEvery: Duration = .seconds(60)

    private struct Previous: Sendable {
        var inodes: Set<UInt64>
        var result: ProcessScanner.Result
        var scannedAt: ContinuousClock.Instant
    }

    private let previous = Mutex<Previous?>(nil)

    public init() {}

    /// The owners of `inodes` (and their units, with `units`), from a re-check when it
    /// may stand in for a scan.
    public func scan(procRoot: String, inodes: some Sequence<UInt64>, units: ProcessUnitResolver? = nil) -> ProcessScanner.Result {
        let wanted = Set(inodes.lazy.filter { $0 != 0 })
        let now = ContinuousClock.now
        if let last = previous.withLock({ $0 }), last.inodes == wanted, now - last.scannedAt < Self.fullScanEvery,
           let result = ProcessScanner.recheck(procRoot: procRoot, previous: last.result, units: units) {
            return result
        }
        let result = ProcessScanner.scan(procRoot: procRoot, inodes: wanted, units: units)
        previous.withLock { $0 = Previous(inodes: wanted, result: result, scannedAt: now) }
        return result
    }
}
