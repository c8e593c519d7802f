import NetAddress
import PacketDecoding

/// Why bytes were not counted against a peer.
public enum UnattributedReason: Int, Sendable, CaseIterable {
    /// Both ends are local addresses (traffic inside the host or its local networks).
    case bothLocal = 0
    /// Neither end is local (seen in promiscuous mode or on a bridge).
    case neitherLocal = 1

    /// The `reason` label value.
    public var label: String { self == .bothLocal ? "both_local" : "neither_local" }
}

/// The counting rules of DESIGN.md applied to decoded packets: direction from the local
/// addresses, the service port from the socket table, handshakes and the ephemeral range,
/// the local process from the socket table, and the bounded series table.
///
/// Not thread-safe: the aggregator owns one and calls it under its lock.
public final class TrafficAccounting {
    // Only used under the aggregator's lock: no dynamic exclusivity checks on the packet path.
    public let table: TrafficTable
    /// Connection health per dependency edge, from the TCP packets classified here.
    public let tcpHealth: TCPHealth
    @exclusivity(unchecked) private var bothLocalBytes: UInt64 = 0
    @exclusivity(unchecked) private var neitherLocalBytes: UInt64 = 0
    /// Bytes counted with a resolved local process, and without one.
    @exclusivity(unchecked) public private(set) var processAttributedBytes: UInt64 = 0
    @exclusivity(unchecked) public private(set) var processUnattributedBytes: UInt64 = 0

    /// IP bytes added to the table since start, evicted series included: the history's
    /// totals per direction, summed once per batch rather than per packet.
    @exclusivity(unchecked) public private(set) var ingressBytes: UInt64 = 0
    @exclusivity(unchecked) public private(set) var egressBytes: UInt64 = 0

    /// Bytes not counted against a peer, indexed by UnattributedReason.rawValue.
    public var unattributedBytes: [UInt64] { [bothLocalBytes, neitherLocalBytes] }
    /// Packets the host sent from a local TCP/UDP endpoint no socket in the snapshot owns,
    /// TCP resets aside: a sign that the socket table is older than a new socket, so it is
    /// worth re-reading early. Packets that only arrive at such an endpoint are no sign of
    /// one: a scan or a flood of closed ports brings them, answered by the kernel with a
    /// reset or an ICMP error, and they would have the table read every second for as
    /// long as it lasts. Their bytes are held all the same, for the next reading.
    @exclusivity(unchecked) public private(set) var unknownSendingEndpointPackets: UInt64 = 0

    @exclusivity(unchecked) public var localAddresses: LocalAddresses {
        didSet { localMatch.update(localAddresses) }
    }
    /// `localAddresses` in memory this object owns, so the lookups of a packet whose summary
    /// does not say which addresses are local (`PacketSummary.locality`) do no reference
    /// counting on its arrays.
    @exclusivity(unchecked) private var localMatch: LocalAddressMatch
    @exclusivity(unchecked) public var ephemeralPorts: EphemeralPortRange
    /// What the latest socket-table reading says (nil: none, as in replay); its process
    /// names are mapped onto stable ids so series keep their process across refreshes.
    @exclusivity(unchecked) public var endpoints: EndpointOwners? {
        didSet {
            endpointsReference = endpoints.map { .passUnretained($0) }
            ownerMemo = OwnerMemo()
            processTranslation = translation(endpoints)
            // Server evidence lasts as long as the socket: a port whose unconnected socket
            // closed may next be a client's.
            udpServerPorts = udpServerPorts.intersection(endpoints?.udpUnconnected ?? PortSet())
            hasUDPServerPorts = !udpServerPorts.isEmpty
            udpFirstPeers.clear()
            tcpHealth.update(endpoints: endpoints)
            settlePending()
        }
    }
    /// `endpoints` for the packet path, which reads it without retaining it; `endpoints`
    /// keeps it alive.
    @exclusivity(unchecked) private var endpointsReference: Unmanaged<EndpointOwners>?
    /// The latest answer of `endpoints` for a local endpoint. A service's packets come to
    /// one endpoint one after another, from however many peers, and a lookup costs a hash
    /// per address it tries: a socket listening on a wildcard address is found only after
    /// the packet's own address has missed. Valid for one reading, and for packets on one
    /// side of its time, as the lookup may answer differently on either side
    /// (`EndpointOwners.processIndex(ipProtocol:localAddress:localPort:capturedAt:)`).
    private struct OwnerMemo {
        var address = IPAddress(high: 0, low: 0)
        var port: UInt16 = 0
        /// 0 while it holds no answer: a lookup is only made for TCP (6) and UDP (17).
        var ipProtocol: UInt8 = 0
        var beforeReading = false
        var index: Int32 = 0
    }
    @exclusivity(unchecked) private var ownerMemo = OwnerMemo()
    /// Stable process ids used in TrafficKey.process.
    @exclusivity(unchecked) public private(set) var processRegistry: ProcessRegistry
    @exclusivity(unchecked) private var processTranslation: [UInt32] = [0]

    @exclusivity(unchecked) private var serverEndpoints = ServerEndpointCache()
    @exclusivity(unchecked) private var fragmentPorts = FragmentPortCache()
    /// Ports of unconnected UDP sockets that more than one peer has sent to: servers on
    /// an ephemeral port (the socket table alone takes them for sendto clients).
    @exclusivity(unchecked) public private(set) var udpServerPorts = PortSet()
    /// False while `udpServerPorts` is empty, so most UDP packets skip reading it.
    @exclusivity(unchecked) private var hasUDPServerPorts = false
    @exclusivity(unchecked) private var udpFirstPeers = FirstPeerCache()

    public init(maxSeries: Int, localAddresses: LocalAddresses, ephemeralPorts: EphemeralPortRange = .linuxDefault,
                endpoints: EndpointOwners? = nil, processNameLimit: Int = 4096) {
        self.table = TrafficTable(maxSeries: maxSeries)
        self.tcpHealth = TCPHealth(maxEdges: min(maxSeries, TCPHealth.defaultMaxEdges))
        self.localAddresses = localAddresses
        self.localMatch = LocalAddressMatch(localAddresses)
        self.ephemeralPorts = ephemeralPorts
        self.processRegistry = ProcessRegistry(limit: processNameLimit)
        self.endpoints = endpoints
        self.endpointsReference = endpoints.map { .passUnretained($0) }
        self.processTranslation = translation(endpoints)
        tcpHealth.update(endpoints: endpoints)
    }

    /// Stable ids for a reading's process indexes. When the reading brings processes the
    /// full registry has no id for, the ids no series (counted, batched or held) uses are
    /// reclaimed first, so names of processes long gone do not crowd out new ones.
    func translation(_ endpoints: EndpointOwners?) -> [UInt32] {
        let processes = endpoints?.processes ?? [ProcessIdentity(name: "")]
        if processes.lazy.filter({ self.processRegistry.existingID($0) == nil }).count > processRegistry.room {
            flush()
            var inUse = [Bool](repeating: false, count: processRegistry.names.count)
            table.forEachKey { inUse[Int($0.process)] = true }
            pending.forEach { inUse[Int($0.key.process)] = true }
            processRegistry.reclaim(keeping: inUse)
        }
        return processes.map { processRegistry.id(for: $0) }
    }

    /// Packets classified but not yet added to the table; see `enqueue`.
    public static let batchCapacity = 32
    private let batchKeys = UnsafeMutablePointer<TrafficKey>.allocate(capacity: batchCapacity)
    private let batchHashes = UnsafeMutablePointer<UInt64>.allocate(capacity: batchCapacity)
    private let batchBytes = UnsafeMutablePointer<UInt64>.allocate(capacity: batchCapacity)
    @exclusivity(unchecked) private var batchCount = 0

    deinit {
        batchKeys.deallocate()
        batchHashes.deallocate()
        holds.deallocate()
        batchBytes.deallocate()
        localMatch.deallocate()
    }

    /// Counts one decoded packet now.
    public func count(_ packet: PacketSummary) {
        enqueue(packet)
        flush()
    }

    private func addToTotals(_ direction: Direction, _ bytes: UInt64) {
        if direction == .egress { egressBytes &+= bytes } else { ingressBytes &+= bytes }
    }

    /// Counts one decoded packet as part of a batch: it is classified now and added to
    /// the table with the rest of its batch (`TrafficTable.add(batch:)`), or to the held
    /// series with the rest of its own batch (`hold`). Call `flush()` before reading the
    /// table or the held series.
    public func enqueue(_ packet: PacketSummary) {
        guard let (key, bytes) = classify(packet) else { return }
        addToBatch(key, bytes)
    }

    private func addToBatch(_ key: TrafficKey, _ bytes: UInt64) {
        addToBatch(key, bytes, hash: table.hash(key))
    }

    /// `addToBatch` for a key whose table hash the caller has.
    private func addToBatch(_ key: TrafficKey, _ bytes: UInt64, hash: UInt64) {
        table.prefetch(hash: hash)
        batchKeys[batchCount] = key
        batchHashes[batchCount] = hash
        batchBytes[batchCount] = bytes
        batchCount += 1
        if batchCount == Self.batchCapacity { flushTable() }
    }

    /// Adds the queued packets to the held series and the table.
    public func flush() {
        flushHeld()
        flushTable()
    }

    private func flushTable() {
        guard batchCount > 0 else { return }
        table.add(batch: batchKeys, hashes: batchHashes, bytes: batchBytes, count: batchCount)
        for i in 0..<batchCount { addToTotals(batchKeys[i].direction, batchBytes[i]) }
        batchCount = 0
    }

    /// Applies the counting rules to one packet: its series key and IP bytes, or nil
    /// when it is not a peer's traffic (counted as unattributed instead) or waits for the
    /// next socket-table reading (queued by `hold`).
    func classify(_ packet: PacketSummary) -> (TrafficKey, UInt64)? {
        let bytes = UInt64(packet.ipBytes)
        let sourceLocal: Bool, destinationLocal: Bool
        let locality = packet.locality
        if locality & PacketSummary.localityKnown != 0 {
            // The capture source looked them up when it decoded the packet.
            sourceLocal = locality & PacketSummary.sourceLocal != 0
            destinationLocal = locality & PacketSummary.destinationLocal != 0
        } else {
            sourceLocal = localMatch.contains(packet.source)
            destinationLocal = localMatch.contains(packet.destination)
        }
        if sourceLocal == destinationLocal {
            if sourceLocal { bothLocalBytes &+= bytes } else { neitherLocalBytes &+= bytes }
            return nil
        }
        let direction: Direction = sourceLocal ? .egress : .ingress
        let peer = sourceLocal ? packet.destination : packet.source
        let local = sourceLocal ? packet.source : packet.destination
        let proto = packet.ipProtocol

        var port: UInt16? = nil
        var localPort: UInt16? = nil
        if proto == 6 || proto == 17 {
            if packet.hasPorts {
                let lp = sourceLocal ? packet.sourcePort : packet.destinationPort
                let rp = sourceLocal ? packet.destinationPort : packet.sourcePort
                localPort = lp
                if proto == 6 { learnHandshake(packet) }
                if proto == 17, !sourceLocal,
                   endpointsReference?._withUnsafeGuaranteedRef({ $0.udpUnconnected.contains(lp) }) == true,
                   !udpServerPorts.contains(lp), udpFirstPeers.isAnotherPeer(local: local, port: lp, peer: peer) {
                    udpServerPorts.insert(lp)
                    hasUDPServerPorts = true
                }
                let service = servicePort(proto: proto, local: local, localPort: lp, remote: peer, remotePort: rp)
                port = service
                if proto == 6 { tcpHealth.observe(packet, fromLocal: sourceLocal, servicePort: service) }
                if packet.isFragment {
                    fragmentPorts.insert(source: packet.source, destination: packet.destination,
                                         identification: packet.fragmentID, ipProtocol: proto, port: service)
                }
            } else if packet.isFragment && !packet.isFirstFragment {
                port = fragmentPorts.port(source: packet.source, destination: packet.destination,
                                          identification: packet.fragmentID, ipProtocol: proto)
            }
        }

        let key = TrafficKey(peer: peer, direction: direction, ipProtocol: proto, port: port)
        guard let localPort, let endpointsReference else {
            processUnattributedBytes &+= bytes
            return (key, bytes)
        }
        let beforeReading = endpointsReference._withUnsafeGuaranteedRef { $0.isBeforeReading(capturedAt: packet.timestamp) }
        let index: Int32
        if ownerMemo.port == localPort && ownerMemo.ipProtocol == proto && ownerMemo.address == local
            && ownerMemo.beforeReading == beforeReading {
            index = ownerMemo.index
        } else {
            index = endpointsReference._withUnsafeGuaranteedRef {
                $0.processIndex(ipProtocol: proto, localAddress: local, localPort: localPort, capturedAt: packet.timestamp)
            }
            ownerMemo = OwnerMemo(address: local, port: localPort, ipProtocol: proto, beforeReading: beforeReading, index: index)
        }
        let process = processTranslation[Int(index)]
        if process != 0 {
            processAttributedBytes &+= bytes
            return (TrafficKey(peer: peer, direction: direction, ipProtocol: proto, port: port, process: process), bytes)
        }
        // A local endpoint the socket table does not know yet: usually a connection newer
        // than the last reading (its handshake). Hold its bytes until the next reading
        // names the process, rather than count them under process_name="" for good.
        if sourceLocal && (proto != 6 || packet.tcpFlags & PacketSummary.tcpRST == 0) { unknownSendingEndpointPackets &+= 1 }
        hold(key, local: local, port: localPort, bytes: bytes)
        return nil
    }

    /// A packet for the held series, looked up a batch later.
    struct Hold {
        var key: TrafficKey
        var local: IPAddress
        var port: UInt16
        var bytes: UInt64
        /// The key's hash in the series table, and the series' in the held set.
        var keyHash: UInt64
        var hash: UInt64
    }
    private let holds = UnsafeMutablePointer<Hold>.allocate(capacity: batchCapacity)
    @exclusivity(unchecked) private var holdCount = 0

    /// Queues a packet of a local endpoint no socket owns yet for the held series. Under a
    /// flood to such endpoints every packet comes here, and the held series' index and
    /// entries are out of cache behind the table's: the batch loads them ahead, as
    /// `TrafficTable.add(batch:)` does the table's, instead of waiting on each in turn.
    private func hold(_ key: TrafficKey, local: IPAddress, port: UInt16, bytes: UInt64) {
        let keyHash = table.hash(key)
        // A full set takes no new series, and the packets queued already can only add to
        // those it holds: one not in its filter goes to the table now.
        if pending.isFull && !pending.mayHold(keyHash: keyHash, address: local, port: port) {
            processUnattributedBytes &+= bytes
            addToBatch(key, bytes, hash: keyHash)
            return
        }
        let hash = pending.hash(keyHash: keyHash, address: local, port: port)
        pending.prefetchSlot(hash: hash)
        holds[holdCount] = Hold(key: key, local: local, port: port, bytes: bytes, keyHash: keyHash, hash: hash)
        holdCount += 1
        if holdCount == Self.batchCapacity { flushHeld() }
    }

    /// Adds the queued packets to their held series; those that find the held series full
    /// are counted in the table at once, as unresolved.
    private func flushHeld() {
        guard holdCount > 0 else { return }
        for i in 0..<holdCount { pending.prefetchEntry(hash: holds[i].hash) }
        for i in 0..<holdCount {
            let held = holds[i]
            if pending.add(held.key, address: held.local, port: held.port, bytes: held.bytes, keyHash: held.keyHash, hash: held.hash) {
                continue
            }
            processUnattributedBytes &+= held.bytes
            addToBatch(held.key, held.bytes, hash: held.keyHash)
        }
        holdCount = 0
    }

    /// Most series held for the next reading; past it bytes are counted as unresolved
    /// at once, so a flood of unknown endpoints cannot grow memory.
    public var maxPendingEndpoints: Int { pending.capacity }
    /// Series waiting for the next socket-table reading, by local endpoint.
    private let pending = HeldSeries(capacity: 4096)

    /// Bytes held for the next socket-table reading.
    public var pendingBytes: UInt64 { pending.bytes }

    /// What the latest `settlePending` did with the held series.
    public struct Settlement: Sendable, Equatable {
        /// Held series counted.
        public var series = 0
        /// Of their bytes, those counted without a process: no socket in the reading
        /// owned their local endpoint any more (or yet).
        public var unnamedBytes: UInt64 = 0
        /// The first `Settlement.endpointLimit` local endpoints counted without a process.
        public var unnamedEndpoints: [LocalEndpoint] = []

        public static let endpointLimit = 4

        public init() {}
    }

    /// What the latest settling did, for the socket task's debug log.
    public private(set) var lastSettlement = Settlement()

    /// Counts every held series under the process the current snapshot names for its
    /// endpoint ("" when it still names none). Called on each new reading, and by the
    /// socket task when a reading fails, so held bytes never wait longer than that.
    public func settlePending() {
        flushHeld()
        var settlement = Settlement()
        defer { lastSettlement = settlement }
        guard pending.count > 0 else { return }
        settlement.series = pending.count
        pending.forEach { held in
            let index = endpoints?.processIndex(ipProtocol: held.key.ipProtocol, localAddress: held.address, localPort: held.port) ?? 0
            let process = processTranslation[Int(index)]
            var key = held.key
            key.process = process
            if process == 0 {
                processUnattributedBytes &+= held.counters.bytes
                settlement.unnamedBytes &+= held.counters.bytes
                let endpoint = LocalEndpoint(held.key.ipProtocol, held.address, held.port)
                if settlement.unnamedEndpoints.count < Settlement.endpointLimit, !settlement.unnamedEndpoints.contains(endpoint) {
                    settlement.unnamedEndpoints.append(endpoint)
                }
            } else {
                processAttributedBytes &+= held.counters.bytes
            }
            table.add(key, counters: held.counters)
            addToTotals(key.direction, held.counters.bytes)
        }
        pending.removeAll()
    }

    /// The service port of a TCP/UDP conversation, strongest evidence first.
    func servicePort(proto: UInt8, local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16) -> UInt16 {
        if endpointsReference?._withUnsafeGuaranteedRef({ $0.isListening(ipProtocol: proto, port: localPort) }) == true {
            return localPort
        }
        if proto == 17 && hasUDPServerPorts && udpServerPorts.contains(localPort) { return localPort }
        // Only TCP handshakes are learned: other protocols skip two cache misses a packet.
        if proto == 6 {
            if serverEndpoints.contains(local, port: localPort, ipProtocol: proto) { return localPort }
            if serverEndpoints.contains(remote, port: remotePort, ipProtocol: proto) { return remotePort }
        }
        let localEphemeral = ephemeralPorts.contains(localPort)
        let remoteEphemeral = ephemeralPorts.contains(remotePort)
        if localEphemeral != remoteEphemeral { return localEphemeral ? remotePort : localPort }
        return min(localPort, remotePort)
    }

    /// What the counting rules learned from traffic and would take long to learn again:
    /// the TCP servers whose handshakes were seen, and the UDP server ports.
    public var learnedServers: LearnedServers {
        LearnedServers(tcpServers: serverEndpoints.endpoints(ipProtocol: 6), udpServerPorts: udpServerPorts.sorted)
    }

    /// Adds what an earlier run learned. UDP server ports last as long as their socket, as
    /// when learned: the next socket-table reading drops those whose socket is gone.
    public func restore(_ learned: LearnedServers) {
        for server in learned.tcpServers { serverEndpoints.insert(server.address, port: server.port, ipProtocol: 6) }
        for port in learned.udpServerPorts { udpServerPorts.insert(port) }
        if let endpoints { udpServerPorts = udpServerPorts.intersection(endpoints.udpUnconnected) }
        hasUDPServerPorts = !udpServerPorts.isEmpty
    }

    /// A SYN without ACK goes to the server; a SYN+ACK comes from it.
    private func learnHandshake(_ packet: PacketSummary) {
        let flags = packet.tcpFlags
        guard flags & PacketSummary.tcpSYN != 0 else { return }
        if flags & PacketSummary.tcpACK == 0 {
            serverEndpoints.insert(packet.destination, port: packet.destinationPort, ipProtocol: 6)
        } else {
            serverEndpoints.insert(packet.source, port: packet.sourcePort, ipProtocol: 6)
        }
    }
}

/// Servers the counting rules learned from traffic (see `TrafficAccounting.learnedServers`).
public struct LearnedServers: Sendable, Equatable {
    /// Servers seen answering a TCP handshake (or sent one).
    public var tcpServers: [ServerEndpoint]
    /// Local ports of unconnected UDP sockets that more than one peer sent to.
    public var udpServerPorts: [UInt16]

    public init(tcpServers: [ServerEndpoint] = [], udpServerPorts: [UInt16] = []) {
        self.tcpServers = tcpServers
        self.udpServerPorts = udpServerPorts
    }
}
