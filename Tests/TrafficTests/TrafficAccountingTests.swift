import NetAddress
import PacketDecoding
import Ring
import TestSupport
import Testing
@testable import Traffic

@Suite struct TrafficAccountingTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!], networks: [IPNetwork("192.168.1.0/24")!])

    func packet(_ src: String, _ dst: String, proto: UInt8 = 6, sport: UInt16 = 0, dport: UInt16 = 0,
                bytes: UInt32 = 100, flags: UInt8 = 0x10, ports: Bool = true) -> PacketSummary {
        var p = PacketSummary()
        p.source = IPAddress(src)!
        p.destination = IPAddress(dst)!
        p.ipProtocol = proto
        p.sourcePort = sport
        p.destinationPort = dport
        p.ipBytes = bytes
        p.tcpFlags = flags
        p.hasPorts = ports && (proto == 6 || proto == 17)
        return p
    }

    enum TransportProtocol: UInt8 { case tcp = 6, udp = 17 }
    enum SocketState { case listen, established }

    /// What a socket-table reading of (protocol, state, local address, local port, process) tells the counting rules;
    /// taken at `readAt` (microseconds), after `previous`.
    func table(_ rows: [(TransportProtocol, SocketState, String, UInt16, String)], at readAt: UInt64 = 0,
               after previous: EndpointOwners? = nil) -> EndpointOwners {
        EndpointOwners(sockets: rows.map { row in
            EndpointOwners.Socket(ipProtocol: row.0.rawValue, isListener: row.1 == .listen, address: IPAddress(row.2)!,
                                  port: row.3, processName: row.4)
        }, readAt: readAt, previous: previous)
    }

    func bytes(_ a: TrafficAccounting, _ peer: String, _ direction: Direction, proto: UInt8 = 6, port: UInt16?) -> UInt64? {
        a.table.counters(for: TrafficKey(peer: IPAddress(peer)!, direction: direction, ipProtocol: proto, port: port))?.bytes
    }

    @Test func directionFromLocalAddressesAndNetworks() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        a.count(packet("10.0.0.5", "203.0.113.9", proto: 1, bytes: 84))
        a.count(packet("203.0.113.9", "192.168.1.20", proto: 1, bytes: 60))
        #expect(bytes(a, "203.0.113.9", .egress, proto: 1, port: nil) == 84)
        #expect(bytes(a, "203.0.113.9", .ingress, proto: 1, port: nil) == 60)
    }

    @Test func localAddressesChangeTakesEffectOnTheNextPacket() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        a.count(packet("10.0.0.7", "203.0.113.9", proto: 1, bytes: 84))
        a.localAddresses = LocalAddresses(addresses: [IPAddress("10.0.0.7")!], networks: [IPNetwork("2001:db8::/32")!])
        a.count(packet("10.0.0.7", "203.0.113.9", proto: 1, bytes: 84))
        a.count(packet("2001:db8::1", "2001:db9::1", proto: 58, bytes: 72))
        #expect(a.unattributedBytes[UnattributedReason.neitherLocal.rawValue] == 84)
        #expect(bytes(a, "203.0.113.9", .egress, proto: 1, port: nil) == 84)
        #expect(bytes(a, "2001:db9::1", .egress, proto: 58, port: nil) == 72)
    }

    /// The packet path's copy of the local addresses answers as `LocalAddresses` does.
    @Test func localMatchAgreesWithLocalAddresses() {
        // Prefixes shorter than a byte too: the match's filter marks every leading byte they cover.
        let networks = ["10.0.0.0/8", "192.168.1.128/25", "0.0.0.0/0", "2001:db8::/32", "::/0", "fe80::1/128", "172.16.5.5/32",
                        "128.0.0.0/1", "96.0.0.0/3", "2000::/3", "fc00::/7"]
        var rng = SplitMix(seed: 11)
        func address() -> IPAddress {
            switch rng.next() % 4 {
            case 0: IPAddress(ipv4: UInt32(truncatingIfNeeded: rng.next()))
            case 1: IPAddress(ipv4: 0x0A00_0000 | UInt32(truncatingIfNeeded: rng.next() & 0xFFFF))
            case 2: IPAddress(high: 0x2001_0DB8_0000_0000 | (rng.next() & 0xFFFF), low: rng.next())
            default: IPAddress(high: rng.next(), low: rng.next())
            }
        }
        for _ in 0..<200 {
            let chosen = networks.filter { _ in rng.next() % 3 == 0 }.map { IPNetwork($0)! }
            let hosts = (0..<Int(rng.next() % 3)).map { _ in address() }
            let local = LocalAddresses(addresses: hosts, networks: chosen)
            let match = LocalAddressMatch(local)
            defer { match.deallocate() }
            for _ in 0..<50 {
                let candidate = address()
                #expect(match.contains(candidate) == local.contains(candidate))
            }
            for host in hosts { #expect(match.contains(host)) }
        }
    }

    @Test func bothOrNeitherLocalIsUnattributed() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        a.count(packet("10.0.0.5", "192.168.1.9", bytes: 40))
        a.count(packet("198.51.100.1", "203.0.113.9", bytes: 52))
        #expect(a.table.count == 0)
        #expect(a.unattributedBytes[UnattributedReason.bothLocal.rawValue] == 40)
        #expect(a.unattributedBytes[UnattributedReason.neitherLocal.rawValue] == 52)
    }

    /// A summary that says which addresses are local (`PacketSummary.locality`, set by the
    /// capture source when it decoded the packet) is counted by what it says; one that does
    /// not is looked up in the accounting's own local addresses.
    @Test func aSummarysLocalityIsTakenAsTheCaptureFoundIt() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        func marked(_ p: PacketSummary, _ locality: UInt8) -> PacketSummary {
            var p = p
            p.locality = PacketSummary.localityKnown | locality
            return p
        }
        // 10.0.0.9 is not local here; the capture found it was (an address the host had then).
        a.count(marked(packet("10.0.0.9", "203.0.113.9", proto: 1, bytes: 84), PacketSummary.sourceLocal))
        a.count(marked(packet("203.0.113.9", "10.0.0.9", proto: 1, bytes: 60), PacketSummary.destinationLocal))
        // 10.0.0.5 is local here; the capture found it was not.
        a.count(marked(packet("10.0.0.5", "203.0.113.9", proto: 1, bytes: 52), 0))
        a.count(marked(packet("10.0.0.5", "192.168.1.9", proto: 1, bytes: 40), PacketSummary.sourceLocal | PacketSummary.destinationLocal))
        // Unmarked: the accounting's own addresses.
        a.count(packet("10.0.0.9", "203.0.113.9", proto: 1, bytes: 30))
        a.count(packet("10.0.0.5", "203.0.113.9", proto: 1, bytes: 20))
        #expect(bytes(a, "203.0.113.9", .egress, proto: 1, port: nil) == 84 + 20)
        #expect(bytes(a, "203.0.113.9", .ingress, proto: 1, port: nil) == 60)
        #expect(a.unattributedBytes[UnattributedReason.neitherLocal.rawValue] == 52 + 30)
        #expect(a.unattributedBytes[UnattributedReason.bothLocal.rawValue] == 40)
    }

    @Test func handshakeDecidesServicePortBothWays() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        // A peer connects to local port 40000 (inside the ephemeral range): the SYN says it is the server.
        a.count(packet("203.0.113.9", "10.0.0.5", sport: 50000, dport: 40000, bytes: 60, flags: 0x02))
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 40000, dport: 50000, bytes: 60, flags: 0x12))
        a.count(packet("203.0.113.9", "10.0.0.5", sport: 50000, dport: 40000, bytes: 1000))
        #expect(bytes(a, "203.0.113.9", .ingress, port: 40000) == 1060)
        #expect(bytes(a, "203.0.113.9", .egress, port: 40000) == 60)
        // Local client to a remote server on a port inside the ephemeral range, seen by its SYN+ACK only.
        a.count(packet("198.51.100.7", "10.0.0.5", sport: 45000, dport: 33000, bytes: 60, flags: 0x12))
        #expect(bytes(a, "198.51.100.7", .ingress, port: 45000) == 60)
    }

    @Test func ephemeralRangeThenLowerPort() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        a.count(packet("10.0.0.5", "203.0.113.9", proto: 17, sport: 41000, dport: 53, bytes: 70))
        a.count(packet("203.0.113.9", "10.0.0.5", proto: 17, sport: 53, dport: 41000, bytes: 120))
        #expect(bytes(a, "203.0.113.9", .egress, proto: 17, port: 53) == 70)
        #expect(bytes(a, "203.0.113.9", .ingress, proto: 17, port: 53) == 120)
        a.count(packet("10.0.0.5", "203.0.113.9", proto: 17, sport: 8125, dport: 9000, bytes: 10))
        #expect(bytes(a, "203.0.113.9", .egress, proto: 17, port: 8125) == 10)
    }

    @Test func listeningSocketBeatsEverythingElse() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: table([(.udp, .listen, "0.0.0.0", 41000, "collector")]))
        a.count(packet("203.0.113.9", "10.0.0.5", proto: 17, sport: 53, dport: 41000, bytes: 120))
        let key = TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .ingress, ipProtocol: 17, port: 41000,
                             process: a.processRegistry.existingID("collector")!)
        #expect(a.table.counters(for: key)?.bytes == 120)
        #expect(a.processAttributedBytes == 120)
    }

    @Test func processIdsStayStableAcrossEvidenceRefreshes() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local,
                                  endpoints: table([(.tcp, .established, "10.0.0.5", 41000, "curl")]))
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 443, bytes: 10))
        a.endpoints = table([(.tcp, .established, "10.0.0.5", 41001, "wget"), (.tcp, .established, "10.0.0.5", 41000, "curl")])
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 443, bytes: 5))
        let curl = a.processRegistry.existingID("curl")!
        let key = TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 443, process: curl)
        #expect(a.table.counters(for: key)?.bytes == 15)
    }

    @Test func bytesOfANewConnectionWaitForTheNextSocketReading() {
        let before: [(TransportProtocol, SocketState, String, UInt16, String)] = [(.tcp, .listen, "0.0.0.0", 22, "sshd")]
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: table(before))
        // A handshake and data of a connection the last reading did not have.
        for _ in 0..<3 { a.count(packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 443, bytes: 60)) }
        a.count(packet("10.0.0.5", "198.51.100.4", sport: 41001, dport: 443, bytes: 40))
        #expect(a.table.count == 0, "held, not counted under an empty process name")
        #expect(a.pendingBytes == 220)
        a.endpoints = table(before + [(.tcp, .established, "10.0.0.5", 41000, "curl")])
        let curl = a.processRegistry.existingID("curl")!
        let named = TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 443, process: curl)
        #expect(a.table.counters(for: named) == TrafficCounters(bytes: 180, packets: 3))
        // The other endpoint is still unknown after the reading: counted, process "".
        #expect(a.table.counters(for: TrafficKey(peer: IPAddress("198.51.100.4")!, direction: .egress, ipProtocol: 6, port: 443))?.bytes == 40)
        #expect(a.pendingBytes == 0)
        #expect(a.processAttributedBytes == 180 && a.processUnattributedBytes == 40)
        // What the socket task logs about that reading: two series settled, one without a process.
        #expect(a.lastSettlement.series == 2)
        #expect(a.lastSettlement.unnamedBytes == 40)
        #expect(a.lastSettlement.unnamedEndpoints == [LocalEndpoint(6, IPAddress("10.0.0.5")!, 41001)])
        a.endpoints = table(before)
        #expect(a.lastSettlement == TrafficAccounting.Settlement(), "nothing held, nothing settled")
    }

    /// A connection sends its last bytes and closes just before a socket-table reading;
    /// the kernel hands those packets over after it. The reading no longer has the socket
    /// (TIME_WAIT is owned by nobody), the one before it did: the bytes keep their process.
    @Test func bytesCapturedBeforeAReadingTheConnectionClosedBeforeKeepTheirProcess() {
        let listener: [(TransportProtocol, SocketState, String, UInt16, String)] = [(.tcp, .listen, "0.0.0.0", 22, "sshd")]
        let open = table(listener + [(.tcp, .established, "10.0.0.5", 41000, "curl")], at: 1_000_000)
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: open)
        a.endpoints = table(listener, at: 2_000_000, after: open)
        var late = packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 7001, bytes: 1500)
        late.timestamp = 1_950_000
        a.count(late)
        let curl = a.processRegistry.existingID("curl")!
        let named = TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 7001, process: curl)
        #expect(a.table.counters(for: named)?.bytes == 1500)
        #expect(a.pendingBytes == 0)
        // A packet of that endpoint captured after the reading waits for the next one.
        var after = late
        after.timestamp = 2_000_001
        a.count(after)
        #expect(a.pendingBytes == 1500)
        #expect(a.processAttributedBytes == 1500 && a.unknownSendingEndpointPackets == 1)
    }

    /// Consecutive packets of one local endpoint reuse its owner's lookup; a new reading,
    /// and a packet captured on the other side of the reading's time, look it up again.
    @Test func anEndpointsOwnerIsLookedUpAgainForANewReadingAndAcrossItsTime() {
        func datagram(at time: UInt64) -> PacketSummary {
            var summary = packet("203.0.113.9", "10.0.0.5", proto: 17, sport: 40000, dport: 5000, bytes: 100)
            summary.timestamp = time
            return summary
        }
        let first = table([(.udp, .established, "0.0.0.0", 5000, "collector")], at: 1_000_000)
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: first)
        a.count(datagram(at: 1_500_000))
        a.count(datagram(at: 1_600_000))
        // The socket closed before the next reading: captured after it, nobody owns the
        // endpoint; captured before it, the previous reading's owner still does, in
        // either order.
        a.endpoints = table([], at: 2_000_000, after: first)
        a.count(datagram(at: 2_100_000))
        a.count(datagram(at: 1_900_000))
        a.count(datagram(at: 2_200_000))
        // Another process opens it: the next reading names that one.
        let third = table([(.udp, .established, "0.0.0.0", 5000, "relay")], at: 3_000_000, after: a.endpoints)
        a.endpoints = third
        a.count(datagram(at: 3_100_000))
        func counted(_ process: String) -> UInt64? {
            a.table.counters(for: TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .ingress, ipProtocol: 17, port: 5000,
                                             process: a.processRegistry.existingID(process)!))?.bytes
        }
        #expect(counted("collector") == 300)
        // The two captured after the second reading were held, and the third reading named
        // their endpoint's owner.
        #expect(counted("relay") == 300)
        #expect(a.lastSettlement.series == 1 && a.lastSettlement.unnamedBytes == 0)
        #expect(a.processAttributedBytes == 600)
    }

    /// What asks for an early socket-table reading: the host sending from an endpoint the
    /// last reading did not know. A scan of closed ports brings packets to such endpoints
    /// and the kernel's resets from them, and no socket a reading could name.
    @Test func onlyTheHostSendingFromAnUnknownEndpointAsksForAnEarlyReading() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local, endpoints: table([(.tcp, .listen, "0.0.0.0", 22, "sshd")]))
        a.count(packet("203.0.113.9", "10.0.0.5", sport: 40000, dport: 23, bytes: 60, flags: 0x02))
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 23, dport: 40000, bytes: 40, flags: 0x14))
        a.count(packet("203.0.113.9", "10.0.0.5", proto: 17, sport: 40000, dport: 5353, bytes: 80))
        #expect(a.unknownSendingEndpointPackets == 0)
        #expect(a.pendingBytes == 180, "their bytes are held all the same")
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 443, bytes: 60, flags: 0x02))
        a.count(packet("10.0.0.5", "203.0.113.9", proto: 17, sport: 41001, dport: 53, bytes: 70))
        #expect(a.unknownSendingEndpointPackets == 2)
        // A known endpoint asks for nothing, whichever way its packets go.
        a.count(packet("203.0.113.9", "10.0.0.5", sport: 40001, dport: 22, bytes: 60, flags: 0x02))
        a.count(packet("10.0.0.5", "203.0.113.9", sport: 22, dport: 40001, bytes: 60, flags: 0x12))
        #expect(a.unknownSendingEndpointPackets == 2)
    }

    @Test func heldSeriesAreBounded() {
        let a = TrafficAccounting(maxSeries: 100_000, localAddresses: local, endpoints: table([(.tcp, .listen, "0.0.0.0", 22, "sshd")]))
        for port in 0..<UInt16(a.maxPendingEndpoints + 100) {
            a.count(packet("10.0.0.5", "203.0.113.9", sport: 30000 + port, dport: 443, bytes: 1))
        }
        #expect(a.pendingBytes == UInt64(a.maxPendingEndpoints))
        #expect(a.table.count == 1, "past the bound, bytes are counted at once under process \"\"")
        #expect(a.table.counters(for: TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 443))?.bytes == 100)
        a.settlePending()
        #expect(a.pendingBytes == 0)
        #expect(a.table.counters(for: TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 443))?.bytes
                == UInt64(a.maxPendingEndpoints + 100))
    }

    /// Once the held set is full, packets counted in batches (`enqueue`) still add to the
    /// series it holds, and those of series it does not hold go to the table at once.
    @Test func aFullHeldSetStillTakesItsOwnSeriesPacketsInABatch() {
        let a = TrafficAccounting(maxSeries: 100_000, localAddresses: local, endpoints: table([(.tcp, .listen, "0.0.0.0", 22, "sshd")]))
        let held = UInt16(a.maxPendingEndpoints)
        for port in 0..<held { a.enqueue(packet("10.0.0.5", "203.0.113.9", sport: 30000 + port, dport: 443, bytes: 1)) }
        a.flush()
        // Interleaved: a second packet of each held series, and one of a series not held.
        for port in 0..<held {
            a.enqueue(packet("10.0.0.5", "203.0.113.9", sport: 30000 + port, dport: 443, bytes: 2))
            if port % 40 == 0 { a.enqueue(packet("10.0.0.5", "203.0.113.9", sport: 20000 + port, dport: 443, bytes: 5)) }
        }
        a.flush()
        let notHeld = UInt64((0..<held).filter { $0 % 40 == 0 }.count)
        #expect(a.pendingBytes == 3 * UInt64(held))
        #expect(a.table.counters(for: TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 6, port: 443))
                == TrafficCounters(bytes: 5 * notHeld, packets: notHeld))
    }

    @Test func laterFragmentsTakeTheFirstFragmentsPort() {
        let a = TrafficAccounting(maxSeries: 100, localAddresses: local)
        var first = packet("203.0.113.9", "10.0.0.5", proto: 17, sport: 53, dport: 41000, bytes: 1500)
        first.isFragment = true
        first.isFirstFragment = true
        first.fragmentID = 77
        var later = packet("203.0.113.9", "10.0.0.5", proto: 17, bytes: 800, ports: false)
        later.isFragment = true
        later.fragmentID = 77
        var orphan = later
        orphan.fragmentID = 78
        a.count(first)
        a.count(later)
        a.count(orphan)
        #expect(bytes(a, "203.0.113.9", .ingress, proto: 17, port: 53) == 2300)
        #expect(bytes(a, "203.0.113.9", .ingress, proto: 17, port: nil) == 800)
    }

    @Test func aggregatorDrainsARingFedFromAnotherThread() async {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local), batchSize: 64)
        let ring = SPSCRing<PacketSummary>(minimumCapacity: 256, wakeUp: aggregator.wakeUp)
        aggregator.attach(ring)
        aggregator.start()
        let sample = packet("10.0.0.5", "203.0.113.9", sport: 41000, dport: 443, bytes: 3)
        let producer = Task.detached {
            for _ in 0..<20_000 { while !ring.tryPush(sample) { ring.wakeUp?.notify(); await Task.yield() } }
            ring.wakeUp?.notify()
        }
        await producer.value
        aggregator.stop()
        aggregator.detach(ring)
        let snapshot = aggregator.snapshot()
        #expect(snapshot.keys.count == 1)
        #expect(snapshot.counters.first == TrafficCounters(bytes: 60_000, packets: 20_000))
    }
}
