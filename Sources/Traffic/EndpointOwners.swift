import NetAddress

/// What the counting rules need from the socket table: which local ports listen, and
/// which process owns a local endpoint.
///
/// The agent fills one from each socket-table reading. Immutable once built, so the
/// aggregator reads it from its own thread without locks; the endpoint lookups answer
/// with an index into `processes`, so the packet path maps processes to its own ids once
/// per reading instead of hashing a name per packet. A packet to a port no socket holds
/// (a flood, a scan) is answered from one bit; one to a held port costs a probe or two
/// of a table hashed with the project's mixer.
///
/// Packets are counted a little after they are captured (the kernel hands them over a
/// block at a time), so a reading can be newer than a packet it names: a connection that
/// sent its last bytes and closed just before the reading is gone from it (its socket is
/// in TIME_WAIT, which no process owns). A reading built with the one before it
/// (`previous`) keeps that reading's owners of the endpoints it no longer has, and
/// answers from them for packets captured before it was taken
/// (`processIndex(ipProtocol:localAddress:localPort:capturedAt:)`).
public final class EndpointOwners: Sendable {
    /// One local socket as the counting rules see it.
    public struct Socket: Sendable {
        /// 6 (TCP) or 17 (UDP).
        public var ipProtocol: UInt8
        /// A listening TCP socket, or a UDP socket that serves a port.
        public var isListener: Bool
        public var address: IPAddress
        public var port: UInt16
        /// nil when no process holds the socket or its owner could not be read.
        public var processName: String?
        /// The owner's systemd unit or container; nil or "" when none is known.
        public var processUnit: String?
        /// A bound, unconnected UDP socket that is not a listener by the socket table's
        /// rule (an ephemeral port): a `sendto` client, or a server that traffic can reveal.
        public var isUnconnectedUDP: Bool

        public init(ipProtocol: UInt8, isListener: Bool, address: IPAddress, port: UInt16, processName: String?,
                    processUnit: String? = nil, isUnconnectedUDP: Bool = false) {
            self.ipProtocol = ipProtocol
            self.isListener = isListener
            self.address = address
            self.port = port
            self.processName = processName
            self.processUnit = processUnit
            self.isUnconnectedUDP = isUnconnectedUDP
        }
    }

    /// Ports with a listening TCP socket.
    public let tcpListening: PortSet
    /// Ports served by a UDP socket.
    public let udpListening: PortSet
    /// Ports of unconnected UDP sockets that are not listeners: a port here becomes a
    /// service port when more than one peer sends to it (`TrafficAccounting`).
    public let udpUnconnected: PortSet
    /// The distinct processes (name and unit); index 0 is "no process". The processes
    /// that owned only endpoints gone since the previous reading come last.
    public let processes: [ProcessIdentity]
    /// When the reading was taken, microseconds since 1970 (as packet time stamps); 0
    /// when unknown, and then the previous reading is never asked.
    public let readAt: UInt64

    private let owners: OwnerLookup
    /// The previous reading's owners of endpoints this reading does not have, with their
    /// process indexes in `processes`; nil without a previous reading or when none went.
    private let departed: OwnerLookup?

    /// Owners of `sockets`, read at `readAt`. Listeners claim an endpoint before the
    /// connections accepted on it; the first socket named for an endpoint wins. With
    /// `previous`, the reading before this one answers for packets captured before
    /// `readAt` whose endpoint this reading names no owner for.
    public init(sockets: some Sequence<Socket>, readAt: UInt64 = 0, previous: EndpointOwners? = nil) {
        var tcp = PortSet()
        var udp = PortSet()
        var unconnected = PortSet()
        var processes = [ProcessIdentity(name: "")]
        var processIndex: [ProcessIdentity: Int32] = [:]
        func intern(_ process: ProcessIdentity) -> Int32 {
            if let known = processIndex[process] { return known }
            processes.append(process)
            processIndex[process] = Int32(processes.count - 1)
            return Int32(processes.count - 1)
        }
        func index(_ name: String, _ socket: Socket) -> Int32 {
            intern(ProcessIdentity(name: name, unit: socket.processUnit ?? ""))
        }
        var byEndpoint: [LocalEndpoint: Int32] = [:]
        var byPort: [LocalEndpoint: Int32] = [:]
        var connected: [Socket] = []
        for socket in sockets {
            guard socket.isListener else {
                if socket.ipProtocol == 17 && socket.isUnconnectedUDP { unconnected.insert(socket.port) }
                connected.append(socket)
                continue
            }
            if socket.ipProtocol == 6 { tcp.insert(socket.port) } else { udp.insert(socket.port) }
            if let name = socket.processName {
                let key = LocalEndpoint(socket.ipProtocol, socket.address, socket.port)
                if byEndpoint[key] == nil { byEndpoint[key] = index(name, socket) }
            }
        }
        for socket in connected {
            guard let name = socket.processName else { continue }
            let key = LocalEndpoint(socket.ipProtocol, socket.address, socket.port)
            if byEndpoint[key] == nil { byEndpoint[key] = index(name, socket) }
            let portKey = OwnerLookup.portKey(socket.ipProtocol, socket.address, socket.port)
            if byPort[portKey] == nil { byPort[portKey] = index(name, socket) }
        }
        tcpListening = tcp
        udpListening = udp
        udpUnconnected = unconnected
        owners = OwnerLookup(byEndpoint: byEndpoint, byPort: byPort)
        self.readAt = readAt
        // Only the previous reading's own owners (not those it kept from its predecessor),
        // and of them only the endpoints this reading does not have: a lookup this
        // reading answers never reaches them, and memory holds what closed since.
        var goneByEndpoint: [LocalEndpoint: Int32] = [:], goneByPort: [LocalEndpoint: Int32] = [:]
        if let previous {
            previous.owners.forEach(byEndpoint: { key, index in
                if byEndpoint[key] == nil { goneByEndpoint[key] = intern(previous.processes[Int(index)]) }
            }, byPort: { key, index in
                if byPort[key] == nil { goneByPort[key] = intern(previous.processes[Int(index)]) }
            })
        }
        departed = goneByEndpoint.isEmpty && goneByPort.isEmpty ? nil : OwnerLookup(byEndpoint: goneByEndpoint, byPort: goneByPort)
        self.processes = processes
    }

    /// True if a TCP socket listens on `port`, or a UDP socket serves it.
    @inlinable
    public func isListening(ipProtocol: UInt8, port: UInt16) -> Bool {
        ipProtocol == 6 ? tcpListening.contains(port) : ipProtocol == 17 && udpListening.contains(port)
    }

    /// The index in `processes` of the process that owns a local endpoint in this
    /// reading: a socket bound to exactly that address, else a wildcard socket on the
    /// port, else any connected socket with that local port on the same side of loopback
    /// (a loopback socket never carries another address's packets, and a client's
    /// ephemeral port is often in use on loopback too); 0 when none does.
    public func processIndex(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> Int32 {
        guard owners.mayOwn(ipProtocol: ipProtocol, port: localPort) else { return 0 }
        let bound = owners.boundIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        return bound != 0 ? bound : owners.portIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
    }

    /// Whether a packet captured at `capturedAt` (microseconds since 1970) came before this
    /// reading was taken: the previous reading's owners of endpoints gone since then answer
    /// for it too (`processIndex(ipProtocol:localAddress:localPort:capturedAt:)`).
    @inline(__always)
    public func isBeforeReading(capturedAt: UInt64) -> Bool {
        capturedAt < readAt
    }

    /// The index in `processes` of the process that owned a local endpoint when a packet
    /// captured at `capturedAt` (microseconds since 1970) was sent or received. For a
    /// packet captured before this reading was taken the previous reading's owners of
    /// endpoints gone since answer too, each kind of match before the next one: a socket
    /// bound to the address in this reading, then in the previous one, then a connected
    /// socket on the port alone in this reading, then in the previous one. 0 when none.
    @inline(__always)
    public func processIndex(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16, capturedAt: UInt64) -> Int32 {
        guard isBeforeReading(capturedAt: capturedAt), let departed else {
            return processIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        }
        let owned = owners.mayOwn(ipProtocol: ipProtocol, port: localPort)
        let gone = departed.mayOwn(ipProtocol: ipProtocol, port: localPort)
        guard owned || gone else { return 0 }
        func bound(_ lookup: OwnerLookup) -> Int32 {
            lookup.boundIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        }
        func port(_ lookup: OwnerLookup) -> Int32 {
            lookup.portIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        }
        if owned, case let index = bound(owners), index != 0 { return index }
        if gone, case let index = bound(departed), index != 0 { return index }
        if owned, case let index = port(owners), index != 0 { return index }
        return gone ? port(departed) : 0
    }

    /// The process that owns a local endpoint in this reading, if any.
    public func process(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> ProcessIdentity? {
        let index = processIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)
        return index == 0 ? nil : processes[Int(index)]
    }

    /// The process that owned a local endpoint for a packet captured at `capturedAt`, if any
    /// (see `processIndex(ipProtocol:localAddress:localPort:capturedAt:)`).
    public func process(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16, capturedAt: UInt64) -> ProcessIdentity? {
        let index = processIndex(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort, capturedAt: capturedAt)
        return index == 0 ? nil : processes[Int(index)]
    }

    /// The name of the process that owns a local endpoint, if any.
    public func processName(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> String? {
        process(ipProtocol: ipProtocol, localAddress: localAddress, localPort: localPort)?.name
    }
}

/// The owner lookups of one reading: by exact endpoint, then by port alone, behind a
/// bitset of the ports any of them holds.
struct OwnerLookup: Sendable {
    private let byEndpoint: EndpointIndex
    private let byPort: EndpointIndex
    /// Ports some socket with a process holds, per protocol: past them no lookup can answer.
    private let tcpOwnedPorts: PortSet
    private let udpOwnedPorts: PortSet

    init(byEndpoint: [LocalEndpoint: Int32], byPort: [LocalEndpoint: Int32]) {
        var tcpOwned = PortSet(), udpOwned = PortSet()
        for key in [byEndpoint.keys, byPort.keys].joined() {
            if key.ipProtocol == 6 { tcpOwned.insert(key.port) } else if key.ipProtocol == 17 { udpOwned.insert(key.port) }
        }
        tcpOwnedPorts = tcpOwned
        udpOwnedPorts = udpOwned
        self.byEndpoint = EndpointIndex(byEndpoint)
        self.byPort = EndpointIndex(byPort)
    }

    /// Calls the bodies with each endpoint and each port key, and its value.
    func forEach(byEndpoint endpointBody: (LocalEndpoint, Int32) -> Void, byPort portBody: (LocalEndpoint, Int32) -> Void) {
        byEndpoint.forEach(endpointBody)
        byPort.forEach(portBody)
    }

    /// The key of a connected socket's port in `byPort`: its protocol and port, and the
    /// loopback address 127.0.0.0 for a loopback socket or `::` for any other.
    static func portKey(_ ipProtocol: UInt8, _ address: IPAddress, _ port: UInt16) -> LocalEndpoint {
        LocalEndpoint(ipProtocol, address.isLoopback ? IPAddress(ipv4: 0x7F00_0000) : .zero, port)
    }

    /// False when no socket with a process holds `port`: then no lookup can answer.
    @inline(__always)
    func mayOwn(ipProtocol: UInt8, port: UInt16) -> Bool {
        switch ipProtocol {
        case 6: tcpOwnedPorts.contains(port)
        case 17: udpOwnedPorts.contains(port)
        default: true
        }
    }

    /// The owner of a socket bound to the address itself or to a wildcard; 0 when none.
    @inline(__always)
    func boundIndex(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> Int32 {
        localAddress.firstBound { byEndpoint.value(LocalEndpoint(ipProtocol, $0, localPort)) } ?? 0
    }

    /// The owner of a connected socket with the port on the same side of loopback; 0 when none.
    func portIndex(ipProtocol: UInt8, localAddress: IPAddress, localPort: UInt16) -> Int32 {
        byPort.value(Self.portKey(ipProtocol, localAddress, localPort)) ?? 0
    }
}

/// An immutable map from local endpoint to a process index (at least 1), for the
/// packet path: open addressing with linear probing at load at most 1/2, hashed with the
/// project's seeded mixer, so a lookup costs one mix and a slot or two where a Dictionary
/// would run SipHash over the key.
struct EndpointIndex: Sendable {
    private struct Slot: Sendable {
        var address = IPAddress.zero
        var port: UInt16 = 0
        var ipProtocol: UInt8 = 0
        /// 0: an empty slot.
        var value: Int32 = 0
    }

    private let slots: [Slot]
    private let mask: Int
    private let seed: UInt64

    /// The map of `values`, whose values are all at least 1.
    init(_ values: [LocalEndpoint: Int32], seed: UInt64 = SeededHash.randomSeed()) {
        var size = 16
        while size < values.count * 2 { size <<= 1 }
        mask = size - 1
        self.seed = seed
        var slots = [Slot](repeating: Slot(), count: size)
        for (key, value) in values {
            precondition(value > 0, "EndpointIndex: 0 marks an empty slot")
            var slot = Self.home(key, seed: seed, mask: mask)
            while slots[slot].value != 0 { slot = (slot &+ 1) & mask }
            slots[slot] = Slot(address: key.address, port: key.port, ipProtocol: key.ipProtocol, value: value)
        }
        self.slots = slots
    }

    /// Calls `body` with each key and its value.
    func forEach(_ body: (LocalEndpoint, Int32) -> Void) {
        for slot in slots where slot.value != 0 { body(LocalEndpoint(slot.ipProtocol, slot.address, slot.port), slot.value) }
    }

    private static func home(_ key: LocalEndpoint, seed: UInt64, mask: Int) -> Int {
        let tail = UInt64(key.port) << 8 | UInt64(key.ipProtocol)
        return Int(truncatingIfNeeded: SeededHash.mix(seed: seed, key.address.high, key.address.low, tail)) & mask
    }

    /// The value of `key`, or nil.
    @inline(__always)
    func value(_ key: LocalEndpoint) -> Int32? {
        slots.withUnsafeBufferPointer { slots in
            var slot = Self.home(key, seed: seed, mask: mask)
            // At load at most 1/2 an empty slot ends the probe well before it wraps.
            for _ in 0...mask {
                let candidate = slots[slot]
                if candidate.value == 0 { return nil }
                if candidate.port == key.port && candidate.ipProtocol == key.ipProtocol && candidate.address == key.address {
                    return candidate.value
                }
                slot = (slot &+ 1) & mask
            }
            return nil
        }
    }
}
