/// Process names interned to stable small ids for the lifetime of the agent.
///
/// Bounded: past `limit` distinct names, new names map to 0 (unknown) rather than grow
/// memory without end. Process names (comm) are few on a real host.
public struct ProcessRegistry: Sendable {
    public private(set) var names: [String] = [""]
    private var ids: [String: UInt32] = ["": 0]
    public let limit: Int

    public init(limit: Int = 4096) { self.limit = limit }

    /// The id of `name`, registering it if new and there is room.
    public mutating func id(for name: String) -> UInt32 {
        if let id = ids[name] { return id }
        guard names.count < limit else { return 0 }
        names.append(name)
        let id = UInt32(names.count - 1)
        ids[name] = id
        return id
    }

    /// The id of an already registered name.
    public func existingID(_ name: String) -> UInt32? { ids[name] }

    /// The name of an id ("" for unknown or out of range).
    public func name(_ id: UInt32) -> String {
        Int(id) < names.count ? names[Int(id)] : ""
    }
}
