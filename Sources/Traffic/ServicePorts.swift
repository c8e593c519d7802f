import NetAddress

/// The slot of (address, tag) in a direct-mapped cache of `mask + 1` slots: mixed under the
/// cache's seed, so that the addresses of one subnet and the ports of one host spread over
/// the slots and a sender cannot choose keys that collide.
private func cacheSlot(_ address: IPAddress, tag: UInt64, mask: Int, seed: UInt64) -> Int {
    Int(truncatingIfNeeded: SeededHash.mix(seed: seed, address.high, address.low, tag)) & mask
}

/// Remembers server endpoints (address, port, protocol) learned from TCP handshakes in a
/// fixed-size direct-mapped cache: bounded memory, O(1), and an old entry is simply
/// overwritten by a colliding newer one.
struct ServerEndpointCache {
    private struct Slot {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var tag: UInt32 = 0  // protocol << 16 | port, with bit 31 marking a used slot
    }

    private var slots: [Slot]
    private let mask: Int
    private let seed: UInt64

    /// Slots by default: the most servers held.
    static let defaultSize = 16384

    init(size: Int = defaultSize, seed: UInt64 = SeededHash.randomSeed()) {
        var n = 1
        while n < size { n <<= 1 }
        slots = [Slot](repeating: Slot(), count: n)
        mask = n - 1
        self.seed = seed
    }

    private func position(_ address: IPAddress, _ tag: UInt32) -> Int {
        cacheSlot(address, tag: UInt64(tag), mask: mask, seed: seed)
    }

    mutating func insert(_ address: IPAddress, port: UInt16, ipProtocol: UInt8) {
        let tag = 0x8000_0000 | UInt32(ipProtocol) << 16 | UInt32(port)
        slots[position(address, tag)] = Slot(high: address.high, low: address.low, tag: tag)
    }

    func contains(_ address: IPAddress, port: UInt16, ipProtocol: UInt8) -> Bool {
        let tag = 0x8000_0000 | UInt32(ipProtocol) << 16 | UInt32(port)
        let slot = slots[position(address, tag)]
        return slot.tag == tag && slot.high == address.high && slot.low == address.low
    }

    /// Every endpoint held with `ipProtocol`, in slot order: what a state file keeps.
    func endpoints(ipProtocol: UInt8) -> [ServerEndpoint] {
        slots.compactMap { slot in
            guard slot.tag & 0x8000_0000 != 0, UInt8(truncatingIfNeeded: slot.tag >> 16) == ipProtocol else { return nil }
            return ServerEndpoint(address: IPAddress(high: slot.high, low: slot.low), port: UInt16(truncatingIfNeeded: slot.tag))
        }
    }
}

/// A server's address and port, as a state file keeps what the handshakes showed.
public struct ServerEndpoint: Sendable, Hashable {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
}

/// Remembers the service port of fragmented datagrams by (source, destination,
/// protocol, identification), so later fragments are counted under the first one's port.
struct FragmentPortCache {
    private struct Slot {
        var source: IPAddress = .zero
        var destination: IPAddress = .zero
        var identification: UInt32 = 0
        var ipProtocol: UInt8 = 0
        var used = false
        var port: UInt16 = 0
    }

    private var slots: [Slot]
    private let mask: Int
    private let seed: UInt64

    init(size: Int = 4096, seed: UInt64 = SeededHash.randomSeed()) {
        var n = 1
        while n < size { n <<= 1 }
        slots = [Slot](repeating: Slot(), count: n)
        mask = n - 1
        self.seed = seed
    }

    private func position(_ source: IPAddress, _ destination: IPAddress, _ identification: UInt32) -> Int {
        let hash = SeededHash.mix(seed: seed, source.low ^ (source.high >> 1), destination.low ^ (destination.high >> 1),
                                  UInt64(identification))
        return Int(truncatingIfNeeded: hash) & mask
    }

    mutating func insert(source: IPAddress, destination: IPAddress, identification: UInt32, ipProtocol: UInt8, port: UInt16) {
        slots[position(source, destination, identification)] = Slot(
            source: source, destination: destination, identification: identification,
            ipProtocol: ipProtocol, used: true, port: port)
    }

    func port(source: IPAddress, destination: IPAddress, identification: UInt32, ipProtocol: UInt8) -> UInt16? {
        let slot = slots[position(source, destination, identification)]
        guard slot.used, slot.identification == identification, slot.ipProtocol == ipProtocol,
              slot.source == source, slot.destination == destination else { return nil }
        return slot.port
    }
}

/// Remembers, per local endpoint of an unconnected UDP socket, the first peer seen sending
/// to it, so that a second, different peer shows the port is a server's. Direct-mapped
/// like the caches above (a colliding endpoint overwrites an older one); `clear()` is O(1).
struct FirstPeerCache {
    private struct Slot {
        var local: IPAddress = .zero
        var peer: IPAddress = .zero
        var port: UInt16 = 0
        var generation: UInt32 = 0
    }

    private var slots: [Slot]
    private let mask: Int
    private let seed: UInt64
    /// Slots of another generation are empty; 0 is never current.
    private var generation: UInt32 = 1

    init(size: Int = 4096, seed: UInt64 = SeededHash.randomSeed()) {
        var n = 1
        while n < size { n <<= 1 }
        slots = [Slot](repeating: Slot(), count: n)
        mask = n - 1
        self.seed = seed
    }

    private func position(_ local: IPAddress, _ port: UInt16) -> Int {
        cacheSlot(local, tag: UInt64(port), mask: mask, seed: seed)
    }

    /// Records that `peer` sent to `local:port`; true when a different peer did before.
    mutating func isAnotherPeer(local: IPAddress, port: UInt16, peer: IPAddress) -> Bool {
        let index = position(local, port)
        let slot = slots[index]
        if slot.generation == generation, slot.port == port, slot.local == local { return slot.peer != peer }
        slots[index] = Slot(local: local, peer: peer, port: port, generation: generation)
        return false
    }

    /// Forgets every endpoint.
    mutating func clear() {
        generation &+= 1
        if generation == 0 {
            slots = [Slot](repeating: Slot(), count: slots.count)
            generation = 1
        }
    }
}
