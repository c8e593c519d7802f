import CLibcap
import Diagnostics
import Glibc

/// A Linux capability the agent may keep after it leaves root.
public enum Capability: Int32, CaseIterable, Sendable, Comparable {
    /// Directories of other users' processes (/proc/PID/fd is mode 0500).
    case dacReadSearch = 2
    /// Packet sockets: opening a capture, and reopening one when an interface comes back.
    case netRaw = 13
    /// The socket links in /proc/PID/fd of other users' processes (a ptrace read check).
    case sysPtrace = 19

    /// The kernel's name, as capsh and the README write it.
    public var name: String {
        switch self {
        case .dacReadSearch: return "CAP_DAC_READ_SEARCH"
        case .netRaw: return "CAP_NET_RAW"
        case .sysPtrace: return "CAP_SYS_PTRACE"
        }
    }

    public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }

    /// The capabilities the enabled tasks need: capture needs CAP_NET_RAW; the socket
    /// table needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to name other users' processes.
    public static func needed(captureEnabled: Bool, socketstatEnabled: Bool) -> Set<Capability> {
        var needed: Set<Capability> = []
        if captureEnabled { needed.insert(.netRaw) }
        if socketstatEnabled { needed.formUnion([.sysPtrace, .dacReadSearch]) }
        return needed
    }
}

/// Why the agent could not leave root; it does not run on with privileges it meant to drop.
public struct PrivilegeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Leaving root once what needs it is open (capture handles), as darkstat does: the agent
/// becomes an unprivileged user and keeps, in its permitted and effective sets, only the
/// capabilities its tasks still need; every other capability also leaves the bounding
/// set, and no_new_privs is set, so nothing it could execute would bring them back.
///
/// Capabilities and no_new_privs belong to a thread, and threads inherit them when they
/// are created: the drop must happen while the process has a single thread, so that every
/// thread started afterwards has exactly what the drop left. `drop` refuses otherwise.
public enum Privileges {
    /// What the drop left, read back from the kernel.
    public struct Outcome: Sendable, Equatable {
        public var uid: uid_t
        public var gid: gid_t
        public var kept: [Capability]
    }

    /// Becomes `userName` keeping `capabilities`. Already that user (a service manager
    /// started the agent so), only the capabilities are narrowed.
    public static func drop(to userName: String, keeping capabilities: Set<Capability>) throws(PrivilegeError) -> Outcome {
        let (uid, gid) = try lookUp(userName)
        let threads = threadCount()
        guard threads == 1 else {
            throw PrivilegeError("-run-as-user: \(threads) threads are already running; privileges must be dropped before any thread starts")
        }
        let kept = capabilities.sorted()
        do {
            if geteuid() == 0 {
                // Kept across the user change below, then narrowed to `kept`.
                try systemCall("prctl PR_SET_KEEPCAPS") { cap_prctlw(Int(PR_SET_KEEPCAPS), 1, 0, 0, 0, 0) }
                for value in 0..<cap_max_bits() where !kept.contains(where: { $0.rawValue == value }) {
                    try systemCall("prctl PR_CAPBSET_DROP") { cap_drop_bound(value) }
                }
                var groups = [gid]
                try systemCall("setgroups") { setgroups(1, &groups) }
                try systemCall("setgid") { setgid(gid) }
                try systemCall("setuid") { setuid(uid) }
                try systemCall("prctl PR_SET_KEEPCAPS") { cap_prctlw(Int(PR_SET_KEEPCAPS), 0, 0, 0, 0, 0) }
            } else if getuid() != uid {
                throw PrivilegeError("-run-as-user \(userName): becoming another user needs root (running as uid \(getuid()))")
            }
            try setCapabilities(kept)
            try systemCall("cap_reset_ambient") { cap_reset_ambient() }
            try systemCall("prctl PR_SET_NO_NEW_PRIVS") { cap_prctlw(Int(PR_SET_NO_NEW_PRIVS), 1, 0, 0, 0, 0) }
        } catch let error as SystemCallError {
            throw PrivilegeError("-run-as-user \(userName): \(error)")
        } catch let error as PrivilegeError {
            throw error
        } catch {
            throw PrivilegeError("-run-as-user \(userName): \(error)")
        }
        return try verify(uid: uid, gid: gid, kept: kept, userName: userName)
    }

    /// The capabilities only the socket table uses: reading other users' /proc/PID/fd.
    public static let socketTableOnly: Set<Capability> = [.sysPtrace, .dacReadSearch]

    /// Clears `capabilities` from the calling thread's effective set, keeping them
    /// permitted. Called while the process has a single thread, so that every thread it
    /// starts afterwards (HTTP, packet decoding, tasks) runs without them; the one thread
    /// that needs them raises them for itself (``raiseEffective(_:)``). They stay permitted
    /// because that thread is started late, from whichever thread runs its task, and a
    /// thread inherits its creator's sets.
    public static func lowerEffective(_ capabilities: Set<Capability>) throws(PrivilegeError) {
        do {
            try setEffective(capabilities, CAP_CLEAR)
        } catch {
            throw PrivilegeError("could not clear \(capabilities.sorted().map(\.name).joined(separator: ", ")) from the effective set: \(error)")
        }
    }

    /// Raises those of `capabilities` the calling thread has permitted into its effective
    /// set (capabilities belong to a thread: the others keep theirs lowered). Returns the
    /// ones raised; a capability the process was not given is left out.
    @discardableResult
    public static func raiseEffective(_ capabilities: Set<Capability>) -> [Capability] {
        let permitted = ProcessStatus.read(thread: true).capPrm
        let raise = capabilities.sorted().filter { permitted & (1 << UInt64($0.rawValue)) != 0 }
        guard !raise.isEmpty, (try? setEffective(Set(raise), CAP_SET)) != nil else { return [] }
        return raise
    }

    /// Sets or clears `capabilities` in the calling thread's effective set.
    private static func setEffective(_ capabilities: Set<Capability>, _ value: cap_flag_value_t) throws {
        guard let caps = cap_get_proc() else { throw SystemCallError(call: "cap_get_proc", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var values = capabilities.map { cap_value_t($0.rawValue) }
        guard !values.isEmpty else { return }
        try systemCall("cap_set_flag") { cap_set_flag(caps, CAP_EFFECTIVE, Int32(values.count), &values, value) }
        try systemCall("capset") { cap_set_proc(caps) }
    }

    /// Permitted and effective become exactly `kept`; inheritable is emptied. A capability
    /// the process does not have (not root, and not granted) cannot be kept: an error.
    private static func setCapabilities(_ kept: [Capability]) throws -> Void {
        guard let caps = cap_init() else { throw SystemCallError(call: "cap_init", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var values = kept.map { cap_value_t($0.rawValue) }
        if !values.isEmpty {
            try systemCall("cap_set_flag") { cap_set_flag(caps, CAP_PERMITTED, Int32(values.count), &values, CAP_SET) }
            try systemCall("cap_set_flag") { cap_set_flag(caps, CAP_EFFECTIVE, Int32(values.count), &values, CAP_SET) }
        }
        do {
            try systemCall("capset") { cap_set_proc(caps) }
        } catch {
            guard error.errno == EPERM else { throw error }
            throw PrivilegeError("cannot keep \(kept.map(\.name).joined(separator: ", ")): the process was not given them (start it as root, or grant them)")
        }
    }

    /// Reads back what the kernel now holds for this process, and checks that root cannot
    /// be taken back.
    private static func verify(uid: uid_t, gid: gid_t, kept: [Capability], userName: String) throws(PrivilegeError) -> Outcome {
        let status = ProcessStatus.read()
        let mask = kept.reduce(UInt64(0)) { $0 | 1 << UInt64($1.rawValue) }
        var problems: [String] = []
        if status.uids != [uid, uid, uid, uid] { problems.append("Uid is \(status.uids)") }
        if status.gids != [gid, gid, gid, gid] { problems.append("Gid is \(status.gids)") }
        if status.capEff != mask || status.capPrm != mask { problems.append("CapEff/CapPrm are \(status.capEff)/\(status.capPrm), not \(mask)") }
        if status.noNewPrivs != true { problems.append("NoNewPrivs is not set") }
        if uid != 0, setuid(0) == 0 { problems.append("root could be taken back") }
        guard problems.isEmpty else {
            throw PrivilegeError("-run-as-user \(userName): the drop did not hold (\(problems.joined(separator: "; ")))")
        }
        return Outcome(uid: uid, gid: gid, kept: kept)
    }

    private static func lookUp(_ name: String) throws(PrivilegeError) -> (uid_t, gid_t) {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status = getpwnam_r(name, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else {
            throw PrivilegeError("-run-as-user \(name): no such user\(status == 0 ? "" : " (\(String(cString: strerror(status))))")")
        }
        return (entry.pw_uid, entry.pw_gid)
    }

    /// Threads of this process now.
    static func threadCount() -> Int {
        guard let directory = opendir("/proc/self/task") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}

/// The credential lines of /proc/self/status.
struct ProcessStatus: Equatable {
    var uids: [uid_t] = []
    var gids: [gid_t] = []
    var capPrm: UInt64 = 0
    var capEff: UInt64 = 0
    var noNewPrivs: Bool?

    /// Reads /proc/self/status (the main thread's), or with `thread` the calling thread's
    /// /proc/thread-self/status; fields it cannot read stay empty.
    static func read(thread: Bool = false) -> ProcessStatus {
        let path = thread ? "/proc/thread-self/status" : "/proc/self/status"
        guard let bytes = try? readFile(path, limit: 64 * 1024) else { return ProcessStatus() }
        return parse(String(decoding: bytes, as: UTF8.self))
    }

    /// Parses the text of a /proc/PID/status file.
    static func parse(_ text: String) -> ProcessStatus {
        var status = ProcessStatus()
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == "\t" || $0 == " " })
            guard let key = parts.first else { continue }
            let values = parts.dropFirst()
            switch key {
            case "Uid": status.uids = values.compactMap { uid_t($0) }
            case "Gid": status.gids = values.compactMap { gid_t($0) }
            case "CapPrm": status.capPrm = values.first.flatMap { UInt64($0, radix: 16) } ?? 0
            case "CapEff": status.capEff = values.first.flatMap { UInt64($0, radix: 16) } ?? 0
            case "NoNewPrivs": status.noNewPrivs = values.first == "1"
            default: break
            }
        }
        return status
    }
}
