import Diagnostics
import NetAddress
#if canImport(Glibc)
import Glibc
#endif

/// Reads the socket table and the owning processes' names: the I/O edge of the module.
///
/// The live table is read over netlink `sock_diag`, which measured faster than
/// formatting and parsing `/proc/net/*` text (see docs/sockets.md). When the reader
/// points at another procfs root (a fixture tree), or a netlink dump is refused (no
/// `udp_diag`, say), that table is read from `ROOT/net/{tcp,tcp6,udp,udp6}` instead.
public struct SocketTableReader: Sendable {
    /// Where socket rows come from.
    public enum Source: Sendable {
        /// Netlink for the live `/proc`, files for any other root.
        case automatic
        /// Netlink `sock_diag`, falling back to files per table when refused.
        case netlink
        /// `ROOT/net/{tcp,tcp6,udp,udp6}`.
        case procfs
    }

    /// The procfs mount to read (`/proc` on a live system).
    public let procRoot: String
    public let source: Source
    /// Owners found by earlier readings of this reader (and its copies).
    let owners = ProcessOwnerCache()
    /// Reads each owner's unit or container; nil reads none (every unit is then nil).
    public let units: ProcessUnitResolver?

    /// A reader of `procRoot` (default `/proc`); with `units`, owners' units are read too.
    public init(procRoot: String = "/proc", source: Source = .automatic, units: ProcessUnitResolver? = nil) {
        var root = procRoot
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.procRoot = root
        self.source = source
        self.units = units
    }

    private var usesNetlink: Bool {
        switch source {
        case .automatic: procRoot == "/proc"
        case .netlink: true
        case .procfs: false
        }
    }

    /// Reads every TCP and UDP socket, IPv4 and IPv6, and names their processes (and
    /// their units, with `units`).
    public func read() throws -> SocketSnapshot {
        let entries = try readTable()
        let scan = owners.scan(procRoot: procRoot, inodes: entries.lazy.map(\.inode), units: units)
        let sockets = entries.map {
            $0.inode == 0 ? OwnedSocket(entry: $0, processName: nil)
                : OwnedSocket(entry: $0, processName: scan.names[$0.inode], processUnit: scan.units[$0.inode])
        }
        return SocketSnapshot(
            sockets: sockets, processUnitsUncached: units?.uncached ?? 0, skippedProcesses: scan.skippedProcesses,
            skippedDescriptors: scan.skippedDescriptors, ownersRechecked: scan.rechecked, ephemeralPorts: EphemeralPortRange.read(procRoot: procRoot))
    }

    /// Reads the socket rows only, without process names.
    public func readTable() throws -> [SocketEntry] {
        var entries: [SocketEntry] = []
        entries.reserveCapacity(1024)
        var netlink: NetlinkSocket? = nil
        if usesNetlink { netlink = try? NetlinkSocket() }
        defer { netlink?.close() }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        /// Runs one dump over netlink, if there is a socket; false when there is none or
        /// the dump failed. A refused or broken dump may leave replies queued: its rows
        /// are dropped and the next dump starts on a fresh socket.
        func viaNetlink(_ dump: (inout NetlinkSocket) throws -> Void) -> Bool {
            guard var socket = netlink else { return false }
            let mark = entries.count
            do {
                try dump(&socket)
                netlink = socket
                return true
            } catch {
                entries.removeSubrange(mark...)
                socket.close()
                netlink = try? NetlinkSocket()
                return false
            }
        }
        for proto in TransportProtocol.allCases {
            // Both families in one dump where the kernel takes the older request.
            if proto == .tcp, viaNetlink({ try $0.dumpTCPBothFamilies(buffer: &buffer, into: &entries) }) { continue }
            for ipv6 in [false, true] {
                if viaNetlink({ try $0.dump(ipv6: ipv6, protocol: proto, buffer: &buffer, into: &entries) }) { continue }
                try readFile(ipv6: ipv6, protocol: proto, buffer: &buffer, into: &entries)
            }
        }
        return entries
    }

    private func readFile(ipv6: Bool, protocol proto: TransportProtocol, buffer: inout [UInt8], into entries: inout [SocketEntry]) throws {
        let path = "\(procRoot)/net/\(proto.label)\(ipv6 ? "6" : "")"
        let fd: Int32
        do {
            fd = try systemCall("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            // A kernel without IPv6 has no tcp6/udp6.
            if error.errno == ENOENT, ipv6 { return }
            throw SocketTableError("cannot \(error)")
        }
        defer { Glibc.close(fd) }
        // procfs files report size 0, so read until end of file, growing as needed.
        var used = 0
        while true {
            if used == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let count = try buffer.withUnsafeMutableBytes { raw throws(SocketTableError) in
                do {
                    return try systemCall("read", path) { Glibc.read(fd, raw.baseAddress! + used, raw.count - used) }
                } catch {
                    throw SocketTableError("cannot \(error)")
                }
            }
            if count == 0 { break }
            used += count
        }
        try buffer.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            try ProcNetParser.parse(UnsafeRawBufferPointer(rebasing: raw[0..<used]), protocol: proto, into: &entries)
        }
    }
}
