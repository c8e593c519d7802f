import NetAddress

/// A longest-prefix-match table from IP networks to values.
///
/// A path-compressed binary trie over IPAddress's 128-bit space, kept in one flat array
/// of 32-byte nodes linked by 32-bit indices: a lookup walks at most one node per
/// distinct branching point (about log2 of the entry count for spread-out prefixes,
/// never more than 129), compares whole prefixes with two 64-bit masks and allocates
/// nothing. IPv4 and IPv6 live under separate roots, so an IPv6 `::/0` never matches
/// an IPv4 address and an IPv4 `0.0.0.0/0` never matches an IPv6 one.
/// Inserting a network already present replaces its value: the last one wins.
public struct PrefixTable<Value> {
    @usableFromInline var nodes: [PrefixTrieNode]
    @usableFromInline var values: [Value]

    /// Root of the IPv4 half: every IPv4 address is under `::ffff:0:0/96`.
    @usableFromInline static var ipv4Root: UInt32 { 0 }
    /// Root of the IPv6 half: `::/0`.
    @usableFromInline static var ipv6Root: UInt32 { 1 }

    /// An empty table.
    public init() {
        nodes = [
            PrefixTrieNode(prefix: IPAddress(ipv4: 0).masked(toBits: 96), bits: 96, value: PrefixTrieNode.none),
            PrefixTrieNode(prefix: .zero, bits: 0, value: PrefixTrieNode.none),
        ]
        values = []
    }

    /// The number of distinct networks held.
    public var count: Int { values.count }

    /// Adds `network` with `value`; replaces the value when the network is already present.
    public mutating func insert(_ network: IPNetwork, _ value: Value) {
        let prefix = network.address
        let bits = network.bits
        var link = network.address.isIPv4 ? Self.ipv4Root : Self.ipv6Root
        // The roots cover their whole family, so the walk starts inside the prefix.
        while true {
            let node = nodes[Int(link)]
            let nodeBits = Int(node.bits)
            let common = Self.commonPrefixLength(prefix, node.prefix, limit: min(bits, nodeBits))
            if common < nodeBits {
                // The new prefix leaves this node's path before the node: put a node at the
                // fork, holding the new entry itself when it ends exactly there.
                let moved = appendNode(node)
                if common == bits {
                    let valueIndex = appendValue(value)
                    var fork = PrefixTrieNode(prefix: prefix, bits: bits, value: valueIndex)
                    fork.setChild(Self.bit(node.prefix, at: bits), moved)
                    nodes[Int(link)] = fork
                } else {
                    let leaf = appendNode(PrefixTrieNode(prefix: prefix, bits: bits, value: appendValue(value)))
                    var fork = PrefixTrieNode(prefix: prefix.masked(toBits: common), bits: common, value: PrefixTrieNode.none)
                    fork.setChild(Self.bit(node.prefix, at: common), moved)
                    fork.setChild(Self.bit(prefix, at: common), leaf)
                    nodes[Int(link)] = fork
                }
                return
            }
            if bits == nodeBits {
                if node.value == PrefixTrieNode.none {
                    nodes[Int(link)].value = appendValue(value)
                } else {
                    values[Int(node.value)] = value
                }
                return
            }
            let direction = Self.bit(prefix, at: nodeBits)
            let child = node.child(direction)
            if child == PrefixTrieNode.none {
                let leaf = appendNode(PrefixTrieNode(prefix: prefix, bits: bits, value: appendValue(value)))
                nodes[Int(link)].setChild(direction, leaf)
                return
            }
            link = child
        }
    }

    /// The value of the longest network containing `address`, or nil when none does.
    @inlinable
    public func lookup(_ address: IPAddress) -> Value? {
        let index = lookupIndex(address)
        return index == PrefixTrieNode.none ? nil : values[Int(index)]
    }

    @inlinable
    func lookupIndex(_ address: IPAddress) -> UInt32 {
        nodes.withUnsafeBufferPointer { nodes in
            var link = address.isIPv4 ? Self.ipv4Root : Self.ipv6Root
            var best = PrefixTrieNode.none
            while link != PrefixTrieNode.none {
                let node = nodes[Int(link)]
                let bits = Int(node.bits)
                // Everything below a node shares its prefix: a mismatch here ends the walk.
                guard address.masked(toBits: bits) == node.prefix else { break }
                if node.value != PrefixTrieNode.none { best = node.value }
                if bits == 128 { break }
                link = Self.bit(address, at: bits) == 0 ? node.child0 : node.child1
            }
            return best
        }
    }

    private mutating func appendNode(_ node: PrefixTrieNode) -> UInt32 {
        // Indices are 32-bit to keep nodes at 32 bytes; with at most two nodes per entry
        // this only trips past two billion entries, far beyond any inventory body.
        precondition(nodes.count < Int(PrefixTrieNode.none), "PrefixTable holds at most 2^31 entries")
        nodes.append(node)
        return UInt32(nodes.count - 1)
    }

    private mutating func appendValue(_ value: Value) -> UInt32 {
        values.append(value)
        return UInt32(values.count - 1)
    }

    /// Bit `index` of `address`, counting from the most significant bit of the 128.
    @inlinable
    static func bit(_ address: IPAddress, at index: Int) -> Int {
        index < 64
            ? Int(truncatingIfNeeded: (address.high >> UInt64(63 - index)) & 1)
            : Int(truncatingIfNeeded: (address.low >> UInt64(127 - index)) & 1)
    }

    /// How many leading bits `a` and `b` share, at most `limit`.
    static func commonPrefixLength(_ a: IPAddress, _ b: IPAddress, limit: Int) -> Int {
        let highDifference = a.high ^ b.high
        let common = highDifference != 0
            ? highDifference.leadingZeroBitCount
            : 64 + (a.low ^ b.low).leadingZeroBitCount
        return min(common, limit)
    }
}

extension PrefixTrieNode {
    @inlinable
    func child(_ direction: Int) -> UInt32 { direction == 0 ? child0 : child1 }

    @inlinable
    mutating func setChild(_ direction: Int, _ index: UInt32) {
        if direction == 0 { child0 = index } else { child1 = index }
    }
}

/// One trie node; outside the generic table so its layout is fixed and trivially copyable.
@usableFromInline
struct PrefixTrieNode: Sendable, BitwiseCopyable {
    /// The node's prefix, host bits cleared.
    @usableFromInline var prefix: IPAddress
    /// Index into `values`, or `PrefixTrieNode.none` for a branching point without an entry.
    @usableFromInline var value: UInt32
    @usableFromInline var child0: UInt32
    @usableFromInline var child1: UInt32
    /// Prefix length in the 128-bit space (IPv4 /n is 96+n).
    @usableFromInline var bits: UInt8

    @usableFromInline static var none: UInt32 { .max }

    /// A node without children.
    @usableFromInline
    init(prefix: IPAddress, bits: Int, value: UInt32) {
        self.prefix = prefix
        self.bits = UInt8(bits)
        self.value = value
        self.child0 = PrefixTrieNode.none
        self.child1 = PrefixTrieNode.none
    }
}

extension PrefixTable: Sendable where Value: Sendable {}
