/// A set of port numbers as a 65,536-bit bitset: O(1) membership, no allocation to
/// query. The socket table publishes listening ports in it; the packet path reads it.
public struct PortSet: Sendable, Hashable {
    @usableFromInline var words: [UInt64]

    /// The empty set.
    public init() { words = [UInt64](repeating: 0, count: 1024) }

    /// The set of `ports`.
    public init(_ ports: some Sequence<UInt16>) {
        self.init()
        for port in ports { insert(port) }
    }

    /// Adds a port.
    public mutating func insert(_ port: UInt16) {
        words[Int(port >> 6)] |= 1 << UInt64(port & 63)
    }

    /// True if the set holds `port`.
    @inlinable
    public func contains(_ port: UInt16) -> Bool {
        words.withUnsafeBufferPointer { $0[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0 }
    }

    /// The ports in both sets.
    public func intersection(_ other: PortSet) -> PortSet {
        var result = self
        for index in result.words.indices { result.words[index] &= other.words[index] }
        return result
    }

    /// True when no port is in the set (a scan: not for the packet path).
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    /// The ports in ascending order.
    public var sorted: [UInt16] { (0...UInt16.max).filter(contains) }
}
