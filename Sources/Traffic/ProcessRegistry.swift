/// A local process as series are labelled with it: its name (comm) and its systemd unit
/// or container ("" when none is known, or when units are not read).
public struct ProcessIdentity: Hashable, Sendable, Comparable {
    public var name: String
    public var unit: String

    /// An identity from a name and unit.
    public init(name: String, unit: String = "") {
        self.name = name
        self.unit = unit
    }

    public static func < (lhs: ProcessIdentity, rhs: ProcessIdentity) -> Bool {
        lhs.name != rhs.name ? lhs.name < rhs.name : lhs.unit < rhs.unit
    }
}

/// Process identities (name and unit) interned to small ids, as traffic series refer to
/// them: one name in one unit, the usual case, is one id, so the unit splits a series
/// only where one name runs in several units.
///
/// Bounded: at most `limit` ids (id 0, "", included). When the registry is full, the
/// owner reclaims the ids no series refers to any more (`reclaim(keeping:)`), and they
/// are given to new identities; past that, a new one maps to 0 (unknown) and is counted
/// in `refused` rather than grow memory without end.
public struct ProcessRegistry: Sendable {
    /// Names by id; a reclaimed id holds "" until it is given again.
    public private(set) var names: [String] = [""]
    /// Units by id, beside `names`.
    public private(set) var units: [String] = [""]
    private var ids: [ProcessIdentity: UInt32] = [ProcessIdentity(name: ""): 0]
    private var free: [UInt32] = []
    public let limit: Int
    /// Names that got id 0 because every id was in use.
    public private(set) var refused: UInt64 = 0

    public init(limit: Int = 4096) { self.limit = max(1, limit) }

    /// Names registered now, "" included.
    public var count: Int { ids.count }

    /// How many new names would find an id now, without a reclaim.
    public var room: Int { free.count + max(0, limit - names.count) }

    /// The id of `process`, registering it if new and there is room.
    public mutating func id(for process: ProcessIdentity) -> UInt32 {
        if let id = ids[process] { return id }
        let id: UInt32
        if let reused = free.popLast() {
            id = reused
            names[Int(id)] = process.name
            units[Int(id)] = process.unit
        } else {
            guard names.count < limit else {
                refused &+= 1
                return 0
            }
            names.append(process.name)
            units.append(process.unit)
            id = UInt32(names.count - 1)
        }
        ids[process] = id
        return id
    }

    /// The id of a process name without a unit.
    public mutating func id(for name: String) -> UInt32 { id(for: ProcessIdentity(name: name)) }

    /// The id of an already registered process.
    public func existingID(_ process: ProcessIdentity) -> UInt32? { ids[process] }

    /// The id of an already registered name without a unit.
    public func existingID(_ name: String) -> UInt32? { ids[ProcessIdentity(name: name)] }

    /// The name of an id ("" for unknown, reclaimed or out of range).
    public func name(_ id: UInt32) -> String {
        Int(id) < names.count ? names[Int(id)] : ""
    }

    /// The unit of an id ("" for none, unknown, reclaimed or out of range).
    public func unit(_ id: UInt32) -> String {
        Int(id) < units.count ? units[Int(id)] : ""
    }

    /// Frees every id (but 0) for which `inUse` is false, so new identities can have
    /// them. `inUse` has one flag per id (`names.count` of them).
    public mutating func reclaim(keeping inUse: [Bool]) {
        for id in 1..<names.count where !(id < inUse.count && inUse[id]) && !(names[id].isEmpty && units[id].isEmpty) {
            ids[ProcessIdentity(name: names[id], unit: units[id])] = nil
            names[id] = ""
            units[id] = ""
            free.append(UInt32(id))
        }
    }
}
