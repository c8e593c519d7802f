import Synchronization

/// Turns the text of a process's `/proc/PID/cgroup` into its `process_unit` label,
/// remembering the label of each cgroup path so a container's name is read from the
/// runtime's state once, not at every socket-table reading.
///
/// Bounded: at most `limit` paths are remembered; the label of a path that does not fit
/// is worked out again at each reading and counted in `uncached`.
public final class ProcessUnitResolver: Sendable {
    /// The default bound, the size of the process-name registry.
    public static let defaultLimit = 4096

    private struct State: Sendable {
        var labels: [Substring: String] = [:]
        var uncached: UInt64 = 0
    }

    public let names: ContainerNames
    public let limit: Int
    private let state = Mutex(State())

    /// A resolver reading container names under `hostRoot` (`/` on a live system).
    public init(hostRoot: String = "/", limit: Int = defaultLimit) {
        self.names = ContainerNames(root: hostRoot)
        self.limit = max(0, limit)
    }

    /// The label of the process whose cgroup file reads `text`.
    public func label(cgroupFile text: Substring) -> String {
        guard let path = CgroupIdentity.path(in: text) else { return "" }
        if let known = state.withLock({ $0.labels[path] }) { return known }
        // Worked out outside the lock: it may read the runtimes' files.
        let label = CgroupIdentity.identity(ofPath: path).label(names: names)
        state.withLock {
            if $0.labels.count < limit {
                // A copy, so the remembered key does not keep the whole file text alive.
                $0.labels[Substring(String(path))] = label
            } else {
                $0.uncached &+= 1
            }
        }
        return label
    }

    /// Labels worked out again because the remembered paths had reached `limit`.
    public var uncached: UInt64 { state.withLock { $0.uncached } }
}
