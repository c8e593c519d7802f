import NetAddress

/// A longest-prefix-match table from IP networks to values.
///
/// A path-compressed binary trie over IPAddress's 128-bit space, kept in one flat array
/// of 32-byte nodes linked by 32-bit indices: a lookup walks at most one node per
/// distinct branching point (about log2 of the entry count for spread-out prefixes,
/// never more than 129), compares whole prefixes with two 64-bit masks and allocates
/// nothing. IPv4 lookups skip the trie's top: a 65,536-slot table indexed by the first
/// 16 bits of the address holds, for each /16, the node to start from and the best match
/// above it (kept up to date by `insert`), which halves the nodes a lookup visits in a
/// large inventory. IPv4 and IPv6 live under separate roots, so an IPv6 `::/0` never matches
/// an IPv4 address and an IPv4 `0.0.0.0/0` never matches an IPv6 one.
/// Inserting a network already present replaces its value: the last one wins.
public struct PrefixTable<Value> {
    @usableFromInline var nodes: [PrefixTrieNode]
    @usableFromInline var values: [Value]
    /// Where IPv4 lookups start, by the address's first 16 bits; empty until the first
    /// IPv4 insert so an IPv6-only or empty table does not carry its 512 KiB.
    @usableFromInline var ipv4Starts: [PrefixTrieStart]

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
        ipv4Starts = []
    }

    /// The number of distinct networks held.
    public var count: Int { values.count }

    /// Adds `network` with `value`; replaces the value when the network is already present.
    public mutating func insert(_ network: IPNetwork, _ value: Value) {
        let prefix = network.address
        let bits = network.bits
        if let changedBits = insertNode(prefix: prefix, bits: bits, value: value), prefix.isIPv4 {
            refreshIPv4Starts(under: prefix, bits: changedBits)
        }
    }

    /// Adds or replaces the node for `prefix`/`bits`; returns the length of the shortest
    /// prefix whose subtree changed, which bounds the start slots that need refreshing, or
    /// nil when only a value was replaced in place (the slots hold value indices, so a
    /// body repeating `0.0.0.0/0` a million times does not refill every slot each time).
    private mutating func insertNode(prefix: IPAddress, bits: Int, value: Value) -> Int? {
        var link = prefix.isIPv4 ? Self.ipv4Root : Self.ipv6Root
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
                return common
            }
            if bits == nodeBits {
                if node.value == PrefixTrieNode.none {
                    nodes[Int(link)].value = appendValue(value)
                    return bits
                }
                values[Int(node.value)] = value
                return nil
            }
            let direction = Self.bit(prefix, at: nodeBits)
            let child = node.child(direction)
            if child == PrefixTrieNode.none {
                let leaf = appendNode(PrefixTrieNode(prefix: prefix, bits: bits, value: appendValue(value)))
                nodes[Int(link)].setChild(direction, leaf)
                return bits
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
        var link = Self.ipv6Root
        var best = PrefixTrieNode.none
        if address.isIPv4 {
            if ipv4Starts.isEmpty {
                link = Self.ipv4Root
            } else {
                let start = ipv4Starts[Int(address.ipv4Value >> 16)]
                link = start.node
                best = start.best
            }
        }
        return nodes.withUnsafeBufferPointer { nodes in
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

    /// Renumbers the nodes breadth-first so the trie's upper levels sit together in memory
    /// and stay in cache, and siblings share cache lines. Lookups give the same answers;
    /// call it once after a bulk of inserts (`Inventory` does).
    public mutating func optimizeLayout() {
        var order: [UInt32] = [Self.ipv4Root, Self.ipv6Root]
        order.reserveCapacity(nodes.count)
        var next = 0
        while next < order.count {
            let node = nodes[Int(order[next])]
            next += 1
            if node.child0 != PrefixTrieNode.none { order.append(node.child0) }
            if node.child1 != PrefixTrieNode.none { order.append(node.child1) }
        }
        var newIndex = [UInt32](repeating: PrefixTrieNode.none, count: nodes.count)
        for (position, old) in order.enumerated() { newIndex[Int(old)] = UInt32(position) }
        func renumbered(_ link: UInt32) -> UInt32 { link == PrefixTrieNode.none ? link : newIndex[Int(link)] }
        nodes = order.map { old in
            var node = nodes[Int(old)]
            node.child0 = renumbered(node.child0)
            node.child1 = renumbered(node.child1)
            return node
        }
        for slot in ipv4Starts.indices { ipv4Starts[slot].node = renumbered(ipv4Starts[slot].node) }
    }

    /// Recomputes the start slots of every /16 inside `prefix`/`bits` (IPv4, 96...128).
    private mutating func refreshIPv4Starts(under prefix: IPAddress, bits: Int) {
        if ipv4Starts.isEmpty {
            ipv4Starts = Array(repeating: PrefixTrieStart(node: Self.ipv4Root, best: PrefixTrieNode.none), count: 1 << 16)
        }
        let rangeBits = min(bits, Self.ipv4StartBits)
        fillIPv4Starts(from: Self.ipv4Root, best: PrefixTrieNode.none, range: prefix.masked(toBits: rangeBits), rangeBits: rangeBits)
    }

    /// Sets the start of every slot in the /`rangeBits` block `range`, walking down from
    /// `link` with `best` the best match above it: one pass over the subtree, so a short
    /// prefix touching thousands of slots costs one visit per slot, not one walk per slot.
    private mutating func fillIPv4Starts(from link: UInt32, best: UInt32, range: IPAddress, rangeBits: Int) {
        guard link != PrefixTrieNode.none else {
            setIPv4Starts(range: range, rangeBits: rangeBits, to: PrefixTrieStart(node: PrefixTrieNode.none, best: best))
            return
        }
        let node = nodes[Int(link)]
        let bits = Int(node.bits)
        if bits >= Self.ipv4StartBits {
            // Lookups check this node's prefix themselves, so it is a valid start for the whole block.
            setIPv4Starts(range: range, rangeBits: rangeBits, to: PrefixTrieStart(node: link, best: best))
            return
        }
        let compared = min(bits, rangeBits)
        guard range.masked(toBits: compared) == node.prefix.masked(toBits: compared) else {
            setIPv4Starts(range: range, rangeBits: rangeBits, to: PrefixTrieStart(node: PrefixTrieNode.none, best: best))
            return
        }
        let below = node.value == PrefixTrieNode.none ? best : node.value
        if bits < rangeBits {
            fillIPv4Starts(from: node.child(Self.bit(range, at: bits)), best: below, range: range, rangeBits: rangeBits)
            return
        }
        // The node sits inside the block: slots outside its prefix match nothing deeper,
        // and its two halves continue through its children.
        if bits > rangeBits {
            setIPv4Starts(range: range, rangeBits: rangeBits, to: PrefixTrieStart(node: PrefixTrieNode.none, best: best))
        }
        let half = IPAddress(high: 0, low: 1 << UInt64(127 - bits))
        fillIPv4Starts(from: node.child0, best: below, range: node.prefix, rangeBits: bits + 1)
        fillIPv4Starts(from: node.child1, best: below, range: IPAddress(high: node.prefix.high, low: node.prefix.low | half.low), rangeBits: bits + 1)
    }

    private mutating func setIPv4Starts(range: IPAddress, rangeBits: Int, to start: PrefixTrieStart) {
        let count = 1 << (Self.ipv4StartBits - rangeBits)
        let first = Int(range.ipv4Value >> 16) & ~(count - 1)
        for slot in first..<(first + count) { ipv4Starts[slot] = start }
    }

    /// IPv4 /16 in the 128-bit space: the depth the start slots cover.
    private static var ipv4StartBits: Int { 96 + 16 }

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

/// Where an IPv4 lookup starts for one /16: a node on its path (or none when no entry can
/// match deeper) and the best match among the nodes above it.
@usableFromInline
struct PrefixTrieStart: Sendable, BitwiseCopyable {
    @usableFromInline var node: UInt32
    @usableFromInline var best: UInt32

    @usableFromInline
    init(node: UInt32, best: UInt32) {
        self.node = node
        self.best = best
    }
}

extension PrefixTable: Sendable where Value: Sendable {}
