/// Process names interned to small ids, as traffic series refer to them.
///
/// Bounded: at most `limit` ids (id 0, "", included). When the registry is full, the
/// owner reclaims the ids no series refers to any more (`reclaim(keeping:)`), and they
/// are given to new names; past that, a new name maps to 0 (unknown) and is counted in
/// `refused` rather than grow memory without end.
public struct ProcessRegistry: Sendable {
    /// Names by id; a reclaimed id holds "" until it is given again.
    public private(set) var names: [String] = [""]
    private var ids: [String: UInt32] = ["": 0]
    private var free: [UInt32] = []
    public let limit: Int
    /// Names that got id 0 because every id was in use.
    public private(set) var refused: UInt64 = 0

    public init(limit: Int = 4096) { self.limit = max(1, limit) }

    /// Names registered now, "" included.
    public var count: Int { ids.count }

    /// How many new names would find an id now, without a reclaim.
    public var room: Int { free.count + max(0, limit - names.count) }

    /// The id of `name`, registering it if new and there is room.
    public mutating func id(for name: String) -> UInt32 {
        if let id = ids[name] { return id }
        let id: UInt32
        if let reused = free.popLast() {
            id = reused
            names[Int(id)] = name
        } else {
            guard names.count < limit else {
                refused &+= 1
                return 0
            }
            names.append(name)
            id = UInt32(names.count - 1)
        }
        ids[name] = id
        return id
    }

    /// The id of an already registered name.
    public func existingID(_ name: String) -> UInt32? { ids[name] }

    /// The name of an id ("" for unknown, reclaimed or out of range).
    public func name(_ id: UInt32) -> String {
        Int(id) < names.count ? names[Int(id)] : ""
    }

    /// Frees every id (but 0) for which `inUse` is false, so new names can have them.
    /// `inUse` has one flag per id (`names.count` of them).
    public mutating func reclaim(keeping inUse: [Bool]) {
        for id in 1..<names.count where !(id < inUse.count && inUse[id]) && !names[id].isEmpty {
            ids[names[id]] = nil
            names[id] = ""
            free.append(UInt32(id))
        }
    }
}
