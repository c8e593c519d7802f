import Diagnostics
import Foundation

/// What `/proc/PID/cgroup` says a process belongs to: a systemd unit, a container, or
/// neither (the root cgroup, or a path no rule recognises).
///
/// The cgroup v2 line (`0::PATH`) is read first; where it says only `/`, as on a hybrid
/// host whose processes systemd places in the v1 `name=systemd` hierarchy, that line's
/// path is used instead. Container IDs are recognised before units, since a container's
/// scope (`docker-ID.scope`) is a unit too but says nothing to a reader.
public enum CgroupIdentity: Hashable, Sendable {
    case none
    /// A systemd unit: `nginx.service`, `session-3.scope`, or a user manager's unit as
    /// `user@1000.service/app.service`.
    case unit(String)
    case container(ContainerReference)

    /// The identity in the text of a `/proc/PID/cgroup` file.
    public static func parse(_ text: String) -> CgroupIdentity {
        guard let path = path(in: text[...]) else { return .none }
        return identity(ofPath: path)
    }

    /// The cgroup path the identity is read from: v2's, unless it is the root and v1's
    /// `name=systemd` hierarchy names a deeper one.
    static func path(in text: Substring) -> Substring? {
        var unified: Substring? = nil
        var systemd: Substring? = nil
        for line in text.split(separator: "\n") {
            // hierarchy-ID:controllers:path; the path may itself hold colons.
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                unified = fields[2]
            } else if fields[1] == "name=systemd" {
                systemd = fields[2]
            }
        }
        if let unified, unified != "/" { return unified }
        return systemd ?? unified
    }

    /// The identity of one cgroup path such as `/system.slice/nginx.service`.
    static func identity(ofPath path: Substring) -> CgroupIdentity {
        let parts = path.split(separator: "/")
        var pod: String? = nil
        for part in parts {
            if let uid = podUID(in: part) { pod = uid }
        }
        // The deepest container wins: a container nested in another runs its own workload.
        for index in parts.indices.reversed() {
            let part = parts[index]
            let parent = index > 0 ? parts[index - 1] : nil
            if let found = container(part, parent: parent, podUID: pod) { return .container(found) }
        }
        guard let last = parts.lastIndex(where: isUnit) else { return .none }
        // Processes a user manager (user@UID.service) runs are named under that manager.
        if let manager = parts[..<last].lastIndex(where: { $0.hasPrefix("user@") && $0.hasSuffix(".service") }) {
            return .unit("\(parts[manager])/\(parts[last])")
        }
        return .unit(String(parts[last]))
    }

    private static func isUnit(_ part: Substring) -> Bool {
        part.hasSuffix(".service") || part.hasSuffix(".scope")
    }

    /// The container one path component names, if any.
    private static func container(_ part: Substring, parent: Substring?, podUID: String?) -> ContainerReference? {
        let scopes: [(prefix: String, runtime: ContainerReference.Runtime)] = [
            ("docker-", .docker), ("cri-containerd-", .containerd), ("crio-", .crio), ("libpod-", .podman),
        ]
        for (prefix, runtime) in scopes where part.hasPrefix(prefix) && part.hasSuffix(".scope") {
            let id = part.dropFirst(prefix.count).dropLast(".scope".count)
            if isContainerID(id) { return ContainerReference(runtime: runtime, id: String(id), podUID: podUID) }
        }
        // podman's cgroupfs manager: /libpod_parent/libpod-ID.
        if part.hasPrefix("libpod-"), isContainerID(part.dropFirst("libpod-".count)) {
            return ContainerReference(runtime: .podman, id: String(part.dropFirst("libpod-".count)), podUID: podUID)
        }
        // cgroupfs drivers: /docker/ID, /kubepods/burstable/podUID/ID.
        guard isContainerID(part), let parent else { return nil }
        if parent == "docker" { return ContainerReference(runtime: .docker, id: String(part), podUID: podUID) }
        if podUID != nil { return ContainerReference(runtime: .kubernetes, id: String(part), podUID: podUID) }
        return nil
    }

    /// A container runtime's ID: 64 lowercase hexadecimal digits.
    private static func isContainerID(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The pod UID of a kubepods component: `podUID` (cgroupfs) or
    /// `kubepods[-QOS]-podUID.slice` (systemd, with the UID's dashes as underscores).
    private static func podUID(in part: Substring) -> String? {
        var uid: Substring
        if part.hasPrefix("kubepods"), part.hasSuffix(".slice"), let range = part.range(of: "-pod") {
            uid = part[range.upperBound...].dropLast(".slice".count)
        } else if part.hasPrefix("pod") {
            uid = part.dropFirst(3)
        } else {
            return nil
        }
        let normalized = uid.replacingOccurrences(of: "_", with: "-")
        guard normalized.utf8.count == 36, normalized.utf8.allSatisfy({
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D
        }) else { return nil }
        return normalized
    }

    /// The `process_unit` label: the unit, the container's name where `names` can read
    /// it, else its short ID; "" for none.
    public func label(names: ContainerNames) -> String {
        switch self {
        case .none: ""
        case .unit(let unit): unit
        case .container(let container): names.name(of: container) ?? container.shortID
        }
    }
}

/// A container found in a cgroup path.
public struct ContainerReference: Hashable, Sendable {
    /// Who made the cgroup; `kubernetes` when a kubepods path says only the pod.
    public enum Runtime: String, Sendable {
        case docker, containerd, crio, podman, kubernetes
    }

    public var runtime: Runtime
    /// The full ID, 64 hexadecimal digits.
    public var id: String
    /// The Kubernetes pod UID when the container runs in a kubepods cgroup.
    public var podUID: String?

    /// A container from its runtime and ID.
    public init(runtime: Runtime, id: String, podUID: String? = nil) {
        self.runtime = runtime
        self.id = id
        self.podUID = podUID
    }

    /// The first 12 digits of the ID, as `docker ps` and `podman ps` show it.
    public var shortID: String { String(id.prefix(12)) }
}

/// Container names read from the runtimes' state on the host's file system, without a
/// call to any daemon: docker's `containers/ID/config.v2.json`, podman's (rootful)
/// `overlay-containers/containers.json`, the kubelet's `pods/UID/` (pod name from
/// `etc-hosts`, namespace from the service-account volume). Containerd and CRI-O
/// outside Kubernetes keep no such file, so their containers keep the short ID.
public struct ContainerNames: Sendable {
    /// The host's root: `/` on a live system, a fixture tree in tests.
    public let root: String

    /// Names read under `root` (default `/`).
    public init(root: String = "/") {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root == "/" ? "" : root
    }

    /// Runtime state files are small; a larger one is not read.
    static let fileLimit = 1 << 20

    /// The name of `container`, or nil when none is readable.
    public func name(of container: ContainerReference) -> String? {
        if let uid = container.podUID, let pod = podName(uid: uid) { return pod }
        switch container.runtime {
        case .docker: return dockerName(id: container.id)
        case .podman: return podmanName(id: container.id)
        case .containerd, .crio, .kubernetes: return nil
        }
    }

    private func read(_ path: String) -> [UInt8]? {
        try? readFile(root + path, limit: Self.fileLimit)
    }

    private func dockerName(id: String) -> String? {
        struct Config: Decodable { var Name: String? }
        guard let bytes = read("/var/lib/docker/containers/\(id)/config.v2.json"),
              let name = (try? JSONDecoder().decode(Config.self, from: Data(bytes)))?.Name
        else { return nil }
        // Docker keeps the name with a leading slash.
        let trimmed = name.hasPrefix("/") ? String(name.dropFirst()) : name
        return trimmed.isEmpty ? nil : trimmed
    }

    private func podmanName(id: String) -> String? {
        struct Container: Decodable {
            var id: String
            var names: [String]?
        }
        guard let bytes = read("/var/lib/containers/storage/overlay-containers/containers.json"),
              let containers = try? JSONDecoder().decode([Container].self, from: Data(bytes))
        else { return nil }
        return containers.first { $0.id == id }?.names?.first
    }

    /// `NAMESPACE/POD`, or `POD` when the namespace is not readable.
    private func podName(uid: String) -> String? {
        let directory = "/var/lib/kubelet/pods/\(uid)"
        // The kubelet writes the pod's own address and hostname (the pod name unless
        // the spec sets another) as the file's last line.
        guard let hosts = read(directory + "/etc-hosts") else { return nil }
        let lines = String(decoding: hosts, as: UTF8.self).split(separator: "\n")
        guard let own = lines.last(where: { !$0.hasPrefix("#") && !$0.allSatisfy(\.isWhitespace) }),
              let pod = own.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first
        else { return nil }
        return namespace(podDirectory: directory).map { "\($0)/\(pod)" } ?? String(pod)
    }

    /// The namespace file of the pod's projected service-account volume.
    private func namespace(podDirectory: String) -> String? {
        let projected = root + podDirectory + "/volumes/kubernetes.io~projected"
        guard let volumes = try? FileManager.default.contentsOfDirectory(atPath: projected) else { return nil }
        for volume in volumes.sorted() {
            guard let bytes = read(podDirectory + "/volumes/kubernetes.io~projected/\(volume)/namespace") else { continue }
            let namespace = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !namespace.isEmpty { return namespace }
        }
        return nil
    }
}
