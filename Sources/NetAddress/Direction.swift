/// Which way bytes flowed, seen from this host.
public enum Direction: UInt8, Sendable, CaseIterable, Comparable {
    case ingress = 0
    case egress = 1

    /// The `direction` label value.
    public var label: String { self == .ingress ? "ingress" : "egress" }

    /// Ordered as their label values are (egress first), for stable output.
    public static func < (lhs: Direction, rhs: Direction) -> Bool { lhs.label < rhs.label }
}
