import NetAddress
import PacketDecoding
import Ring
import Testing
@testable import Traffic

@Suite struct StateFileTests {
    static let host = "web-1.example"
    static let maxBytes = StateFile.maxBytes(dnsNames: 16384)

    /// A state with every part filled, IPv4 and IPv6, a name shared by two addresses.
    static let full = AgentState(
        history: [
            .minute: [HistoryBucket(start: 1_000_000, ingressBytes: 10, egressBytes: 20),
                      HistoryBucket(start: 1_000_001, ingressBytes: 0, egressBytes: .max)],
            .hour: [HistoryBucket(start: 999_960, ingressBytes: 30, egressBytes: 40)],
            .day: [HistoryBucket(start: 997_200, ingressBytes: 50, egressBytes: 60)],
            .month: [HistoryBucket(start: 950_400, ingressBytes: 70, egressBytes: 80)],
        ],
        dnsNames: [
            SavedDNSName(address: IPAddress("192.0.2.1")!, name: "api.example.com", expiry: 1_000_300),
            SavedDNSName(address: IPAddress("2001:db8::1")!, name: "api.example.com", expiry: -5),
            SavedDNSName(address: IPAddress("192.0.2.2")!, name: "db_1.internal-x?.example", expiry: .max),
        ],
        learned: LearnedServers(
            tcpServers: [ServerEndpoint(address: IPAddress("198.51.100.7")!, port: 5432),
                         ServerEndpoint(address: IPAddress("2001:db8::7")!, port: 443)],
            udpServerPorts: [40000, 65535]))

    static var fullBytes: [UInt8] { StateFile.encode(full, host: host, savedAt: 1_000_002) }

    func rejection(_ bytes: [UInt8], host: String = StateFileTests.host) -> String? {
        do {
            _ = try StateFile.decode(bytes, host: host, maxBytes: StateFileTests.maxBytes)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func everyPartRoundTripsExactly() throws {
        let (state, savedAt) = try StateFile.decode(Self.fullBytes, host: Self.host, maxBytes: Self.maxBytes)
        #expect(state == Self.full)
        #expect(savedAt == 1_000_002)
        let empty = try StateFile.decode(StateFile.encode(AgentState(), host: Self.host, savedAt: 0), host: Self.host, maxBytes: 100)
        #expect(empty.state == AgentState())
    }

    @Test func theChecksumIsZlibsCRC32() {
        #expect(StateFile.crc32(Array("123456789".utf8)[...]) == 0xCBF4_3926)
    }

    @Test func aFileCutAtAnyByteIsRejected() {
        let bytes = Self.fullBytes
        for length in 0..<bytes.count {
            #expect(rejection(Array(bytes[..<length])) != nil, "cut at \(length)")
        }
    }

    @Test func everyFlippedBitIsRejected() {
        let bytes = Self.fullBytes
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(rejection(flipped) != nil, "bit \(bit)")
        }
    }

    @Test func anotherHostsFileIsRejectedByName() {
        let reason = rejection(StateFile.encode(Self.full, host: "db-9.example", savedAt: 0))
        #expect(reason == #"it was written on host "db-9.example", and this is "web-1.example""#)
    }

    @Test func aLaterFormatVersionIsRejected() {
        var bytes = Self.fullBytes
        bytes[StateFile.magic.count] = UInt8(StateFile.version + 1)
        #expect(rejection(bytes)?.contains("newer than this agent's") == true)
    }

    @Test func anOversizedFileIsRejectedBeforeReading() {
        let bytes = Self.fullBytes + [UInt8](repeating: 0, count: Self.maxBytes)
        #expect(rejection(bytes)?.contains("more than the \(Self.maxBytes)") == true)
    }

    @Test func anythingElseIsNotAStateFile() {
        #expect(rejection(Array("{\"pending\": []}".utf8))?.contains("not a planet-exporter state file") == true)
        #expect(rejection([]) != nil)
    }

    /// A file with a valid checksum but a record no agent writes (as a hand edit or a bug
    /// would make): each is refused by what it is, not trusted.
    @Test func recordsNoAgentWritesAreRejected() {
        func rewritten(_ state: AgentState) -> String? { rejection(StateFile.encode(state, host: Self.host, savedAt: 0)) }
        let badName = AgentState(dnsNames: [SavedDNSName(address: IPAddress("192.0.2.1")!, name: "Evil\nName", expiry: 0)])
        #expect(rewritten(badName)?.contains("not one the decoder writes") == true)
        let longName = AgentState(dnsNames: [SavedDNSName(address: IPAddress("192.0.2.1")!, name: String(repeating: "a", count: 254), expiry: 0)])
        #expect(rewritten(longName)?.contains("not one the decoder writes") == true)
    }

    /// At a full default DNS table of the longest names and every TCP server slot used, the
    /// file stays under the bound.
    @Test func aFullTableFitsTheBound() throws {
        var names: [SavedDNSName] = []
        for index in 0..<16384 {
            let name = String(index) + "." + String(repeating: "a", count: 253 - String(index).count - 1)
            names.append(SavedDNSName(address: IPAddress(ipv4: 0x0A00_0000 + UInt32(index)), name: name, expiry: 0))
        }
        let tcp = (0..<16384).map { ServerEndpoint(address: IPAddress(ipv4: 0xC000_0200 + UInt32($0)), port: 443) }
        let state = AgentState(dnsNames: names, learned: LearnedServers(tcpServers: tcp))
        let bytes = StateFile.encode(state, host: Self.host, savedAt: 0)
        #expect(bytes.count < Self.maxBytes)
        #expect(try StateFile.decode(bytes, host: Self.host, maxBytes: Self.maxBytes).state == state)
    }
}

@Suite struct StateRestoreTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!], networks: [])

    func aggregator(maxDNSNames: Int = 100) -> TrafficAggregator {
        TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local), maxDNSNames: maxDNSNames)
    }

    func tcp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, flags: UInt8) -> PacketSummary {
        TCPHealthTests().segment(src, dst, sport, dport, flags, at: 0)
    }

    /// The history keeps each bucket at its own time: a stop shows as a gap, and what is
    /// older than a range is gone from that range only.
    @Test func bucketsComeBackAtTheirTimesWithTheStopAsAGap() {
        let saved: [HistoryRange: [HistoryBucket]] = [
            .minute: [HistoryBucket(start: 1_000_000, ingressBytes: 1, egressBytes: 2)],
            .hour: [HistoryBucket(start: 999_960, ingressBytes: 3, egressBytes: 4)],
            .day: [HistoryBucket(start: 997_200, ingressBytes: 5, egressBytes: 6)],
        ]
        // Three hours later: the minute and hour ranges are past, the day range keeps its bucket.
        let history = TrafficHistory()
        #expect(history.restore(saved, at: 1_000_000.5 + 3 * 3600) == 1)
        #expect(history.buckets(.minute).allSatisfy { $0.ingressBytes == 0 && $0.egressBytes == 0 })
        #expect(history.buckets(.hour).allSatisfy { $0.ingressBytes == 0 && $0.egressBytes == 0 })
        let day = history.buckets(.day)
        #expect(day.count == 24)
        #expect(day.last?.start == Int64(1_008_000))
        #expect(day.filter { $0.ingressBytes != 0 } == [HistoryBucket(start: 997_200, ingressBytes: 5, egressBytes: 6)])
        #expect(history.buckets(.month).isEmpty)

        // Ten seconds later: the minute bucket sits ten buckets back, as it was.
        let soon = TrafficHistory()
        #expect(soon.restore(saved, at: 1_000_010.5) == 3)
        let minute = soon.buckets(.minute)
        #expect(minute.last?.start == 1_000_010)
        #expect(minute[minute.count - 11] == HistoryBucket(start: 1_000_000, ingressBytes: 1, egressBytes: 2))
        // A clock set back before a bucket began drops it.
        #expect(TrafficHistory().restore(saved, at: 990_000) == 0)
    }

    @Test func restoredHistoryKeepsFillingAfterTheStop() {
        let traffic = aggregator()
        let history = TrafficHistory()
        history.restore([.minute: [HistoryBucket(start: 1_000_000, ingressBytes: 7, egressBytes: 8)]], at: 1_000_005.2)
        traffic.withAccounting { $0.count(tcp("192.0.2.1", "10.0.0.5", 443, 40000, flags: 0x10)) }
        traffic.recordHistory(history, at: 1_000_006.5)
        let minute = history.buckets(.minute)
        #expect(minute.last == HistoryBucket(start: 1_000_006, ingressBytes: 40, egressBytes: 0))
        #expect(minute[minute.count - 7] == HistoryBucket(start: 1_000_000, ingressBytes: 7, egressBytes: 8))
        // No second restore over live data.
        #expect(history.restore([.minute: [HistoryBucket(start: 1_000_006, ingressBytes: 1, egressBytes: 1)]], at: 1_000_006.6) == 0)
    }

    /// The whole path: learned in one aggregator, saved, encoded, decoded, restored in a
    /// fresh one, which then labels as the first did.
    @Test func aRestartedAggregatorLabelsAsTheFirstDid() throws {
        let first = aggregator()
        first.withAccounting { accounting in
            // 10.0.0.5:50000 -> 192.0.2.9:45000: both ephemeral, only the handshake says which is the server.
            accounting.count(tcp("10.0.0.5", "192.0.2.9", 50000, 45000, flags: 0x02))
        }
        let dns = SPSCRing<DNSAnswers>(minimumCapacity: 8, wakeUp: first.wakeUp)
        first.attach(dns: dns)
        dns.push(dnsAnswers("svc.example", ["192.0.2.9", "2001:db8::9"], ttl: 300, at: 1_000))
        first.detach(dns: dns)
        let saved = first.savedState(history: nil)
        #expect(saved.learned.tcpServers == [ServerEndpoint(address: IPAddress("192.0.2.9")!, port: 45000)])
        #expect(saved.dnsNames.map(\.name) == ["svc.example", "svc.example"])

        let bytes = StateFile.encode(saved, host: "h", savedAt: 1_000)
        let second = aggregator()
        let restored = second.restore(try StateFile.decode(bytes, host: "h", maxBytes: 1 << 20).state, history: nil, at: 2_000)
        #expect(restored[.dnsNames] == 2)
        #expect(restored[.tcpServers] == 1)
        #expect(second.dnsNames().name(for: IPAddress("2001:db8::9")!) == "svc.example")
        // A packet of the same long-lived connection, no handshake: counted under the server's port.
        second.withAccounting { $0.count(tcp("192.0.2.9", "10.0.0.5", 45000, 50000, flags: 0x10)) }
        #expect(second.snapshot().keys.map(\.port) == [45000])
        #expect(second.savedState(history: nil).dnsNames == saved.dnsNames)
    }

    @Test func restoredNamesKeepTheirOrderAndTheTableItsBound() {
        var table = DNSNameTable(capacity: 16)
        let saved = (0..<20).map { SavedDNSName(address: IPAddress(ipv4: 0x0A00_0000 + UInt32($0)), name: "n\($0).example", expiry: 100) }
        let restored = table.restore(saved, at: 50)
        #expect(table.count <= 16)
        #expect(table.evicted == UInt64(20 - table.count))
        #expect(restored == table.count)
        // The most recently answered (last saved) are the ones kept.
        #expect(table.name(for: IPAddress(ipv4: 0x0A00_0000 + 19)) == "n19.example")
        #expect(table.name(for: IPAddress(ipv4: 0x0A00_0000)) == "")
        #expect(table.snapshot.savedNames == Array(saved.suffix(table.count)))
    }

    @Test func udpServerPortsLastOnlyWhileTheirSocketIs() {
        let accounting = TrafficAccounting(maxSeries: 10, localAddresses: local)
        accounting.restore(LearnedServers(udpServerPorts: [40000, 40001]))
        #expect(accounting.udpServerPorts.sorted == [40000, 40001])
        accounting.endpoints = EndpointOwners(sockets: [EndpointOwners.Socket(
            ipProtocol: 17, isListener: false, address: .zero, port: 40001, processName: "app", isUnconnectedUDP: true)])
        #expect(accounting.udpServerPorts.sorted == [40001])
    }
}
