import Capture
import Foundation
import NetAddress
import PacketDecoding
import Testing
import Traffic

/// Builds small pcap files in memory so these tests do not depend on fixtures.
struct PcapFile {
    var bytes: [UInt8] = []

    init(linkType: UInt32 = 1) {
        append32(0xA1B2_C3D4); append16(2); append16(4); append32(0); append32(0); append32(65535); append32(linkType)
    }

    mutating func append16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func append32(_ v: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((v >> UInt32(shift)) & 0xFF)) } }

    /// Adds an Ethernet/IPv4/UDP frame carrying `payload` bytes.
    mutating func addUDP(from src: UInt32, to dst: UInt32, sport: UInt16, dport: UInt16, payload: Int) {
        addUDP(from: src, to: dst, sport: sport, dport: dport, data: [UInt8](repeating: 0xAB, count: payload))
    }

    /// Adds an Ethernet/IPv4/UDP frame carrying `data`, from link-layer address `sender`
    /// to `receiver` (48 bits, first byte highest). `seconds` is the record's time stamp.
    mutating func addUDP(from src: UInt32, to dst: UInt32, sport: UInt16, dport: UInt16, data: [UInt8], at seconds: UInt32 = 0,
                         sender: UInt64 = 0x02_00_00_00_00_02, receiver: UInt64 = 0x02_00_00_00_00_01) {
        var frame: [UInt8] = []
        for address in [receiver, sender] {
            for shift in stride(from: 40, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: address >> UInt64(shift))) }
        }
        frame += [0x08, 0x00]
        add(frame: frame + Self.ipv4UDP(from: src, to: dst, sport: sport, dport: dport, data: data), at: seconds)
    }

    /// An IPv4 packet of a UDP datagram carrying `data`.
    static func ipv4UDP(from src: UInt32, to dst: UInt32, sport: UInt16, dport: UInt16, data: [UInt8]) -> [UInt8] {
        let payload = data.count
        let total = 20 + 8 + payload
        var packet: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0, 0, 64, 17, 0, 0]
        for v in [src, dst] { packet += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        packet += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF), UInt8((8 + payload) >> 8), UInt8((8 + payload) & 0xFF), 0, 0]
        return packet + data
    }

    /// Adds a record of `frame`, whole, time-stamped `seconds`.
    mutating func add(frame: [UInt8], at seconds: UInt32 = 0) {
        append32(seconds); append32(0); append32(UInt32(frame.count)); append32(UInt32(frame.count))
        bytes += frame
    }

    func write() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("planet-\(UUID().uuidString).pcap").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite struct CaptureSourceTests {
    let local = LocalAddresses(networks: [IPNetwork("10.0.0.0/24")!])

    func replay(_ path: String) throws -> (TrafficSnapshot, CaptureSource) {
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 1000, localAddresses: local))
        let source = CaptureSource(handle: try PcapHandle.openOffline(path: path), ringCapacity: 64, policy: .wait,
                                   wakeUp: aggregator.wakeUp)
        aggregator.attach(source.ring)
        aggregator.start()
        source.run()
        aggregator.stop()
        aggregator.detach(source.ring)
        return (aggregator.snapshot(), source)
    }

    @Test func readsAFileThroughTheRingWithoutLosingPackets() throws {
        var file = PcapFile()
        for i in 0..<5000 {
            file.addUDP(from: 0x0A00_0005, to: 0xCB00_7109, sport: 41000, dport: 53, payload: i % 100)
        }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (snapshot, source) = try replay(path)
        let expected = (0..<5000).reduce(UInt64(0)) { $0 + UInt64(28 + $1 % 100) }
        #expect(snapshot.keys == [TrafficKey(peer: IPAddress("203.0.113.9")!, direction: .egress, ipProtocol: 17, port: 53)])
        #expect(snapshot.counters.first?.bytes == expected)
        #expect(source.counters.packets == 5000)
        #expect(source.counters.ringDropped == 0)
        #expect(source.error == nil)
    }

    /// With `.drop` and nobody draining, the ring keeps what it holds and every further
    /// packet is still decoded and counted, as dropped by the ring, with its bytes; what
    /// the ring holds is the file's first packets, whole.
    @Test func aFullRingDropsAndCountsWhatItCannotHold() throws {
        var file = PcapFile()
        for i in 0..<1000 {
            file.addUDP(from: 0x0A00_0005, to: 0xCB00_7100 | UInt32(i % 200), sport: 41000, dport: 8000, payload: i % 100)
        }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = CaptureSource(handle: try PcapHandle.openOffline(path: path), ringCapacity: 64, policy: .drop,
                                   decodesDNS: false)
        // With `.drop` a file's end does not end the reading (live capture's policy): read
        // until every packet is counted, then stop.
        source.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while source.counters.packets < 1000 && ContinuousClock.now < deadline { usleep(1000) }
        source.stop()
        let counters = source.counters
        #expect(counters.packets == 1000)
        #expect(counters.decoded == 1000)
        #expect(counters.ringDropped == 936)
        let droppedBytes: UInt64 = (64..<1000).reduce(0) { $0 + UInt64(28 + $1 % 100) }
        #expect(counters.bytes.ringDroppedIPBytes == droppedBytes)
        var held: [PacketSummary] = []
        #expect(source.ring.drain(max: 100) { held.append($0) } == 64)
        #expect(held.map(\.ipBytes) == (0..<64).map { UInt32(28 + $0 % 100) })
        #expect(held.map(\.destination) == (0..<64).map { IPAddress(ipv4: 0xCB00_7100 | UInt32($0)) })
    }

    /// With the host's addresses known, each summary says which of its addresses are
    /// local, as the counting rules and the DNS check read it; without them, it says
    /// nothing and the accounting looks the addresses up itself.
    @Test func summariesSayWhichAddressesAreLocalWhenTheHostsAreKnown() throws {
        var file = PcapFile()
        let pairs: [(UInt32, UInt32)] = [(0x0A00_0005, 0xCB00_7109), (0xCB00_7109, 0x0A00_0005),
                                         (0x0A00_0005, 0x0A00_0007), (0xCB00_7109, 0xC633_6401)]
        for (from, to) in pairs { file.addUDP(from: from, to: to, sport: 41000, dport: 8000, payload: 10) }
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        func localities(_ local: LocalAddresses?) throws -> [UInt8] {
            let source = CaptureSource(handle: try PcapHandle.openOffline(path: path), ringCapacity: 64, policy: .wait,
                                       decodesDNS: false, localAddresses: local)
            source.run()
            var summaries: [PacketSummary] = []
            _ = source.ring.drain(max: 64) { summaries.append($0) }
            return summaries.map(\.locality)
        }
        let known = PacketSummary.localityKnown, from = PacketSummary.sourceLocal, to = PacketSummary.destinationLocal
        #expect(try localities(local) == [known | from, known | to, known | from | to, known])
        #expect(try localities(nil) == [0, 0, 0, 0])
    }

    @Test func truncatedFileKeepsWhatCameBeforeAndSaysSo() throws {
        var file = PcapFile()
        file.addUDP(from: 0xCB00_7109, to: 0x0A00_0005, sport: 53, dport: 41000, payload: 72)
        file.addUDP(from: 0xCB00_7109, to: 0x0A00_0005, sport: 53, dport: 41000, payload: 72)
        file.bytes.removeLast(30)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (snapshot, source) = try replay(path)
        #expect(snapshot.counters.first?.bytes == 100)
        let error = try #require(source.error)
        #expect(error.description.hasPrefix(path + ": "))
        #expect(error.description.contains("truncated"))
    }

    @Test func garbageAndMissingFilesGiveOneLineErrors() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("planet-garbage-\(UUID().uuidString).pcap").path
        try Data("this is not a capture".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: CaptureError.self) { try PcapHandle.openOffline(path: path) }
        do {
            _ = try PcapHandle.openOffline(path: "/nonexistent/x.pcap")
            Issue.record("opening a missing file succeeded")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/x.pcap: "))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func framesOfAnUnknownLinkTypeAreCountedAsUndecoded() throws {
        var file = PcapFile(linkType: 147)  // a user DLT the decoder does not know
        file.addUDP(from: 1, to: 2, sport: 1, dport: 2, payload: 0)
        file.addUDP(from: 1, to: 2, sport: 1, dport: 2, payload: 0)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (snapshot, source) = try replay(path)
        #expect(snapshot.keys.isEmpty)
        #expect(source.counters.packets == 2)
        #expect(source.counters.undecoded[Int(DecodeStatus.unsupportedLink.rawValue)] == 2)
    }

    @Test func invalidFilterIsReported() throws {
        var file = PcapFile()
        file.addUDP(from: 1, to: 2, sport: 1, dport: 2, payload: 0)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try PcapHandle.openOffline(path: path)
        #expect(throws: CaptureError.self) { try handle.setFilter("port not-a-number") }
    }

    /// A DNS message asking for the A record of `name`, or with `answer` its response.
    static func dnsMessage(id: UInt16, name: String, answer: UInt32? = nil) -> [UInt8] {
        var message: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), answer == nil ? 0x01 : 0x81, answer == nil ? 0x00 : 0x80,
                                0, 1, 0, answer == nil ? 0 : 1, 0, 0, 0, 0]
        for label in name.split(separator: ".") { message += [UInt8(label.utf8.count)] + Array(label.utf8) }
        message += [0, 0, 1, 0, 1]
        if let answer {
            // The question's name by pointer, type A, class IN, TTL 300, 4 bytes.
            message += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4]
            message += [UInt8(answer >> 24), UInt8((answer >> 16) & 0xFF), UInt8((answer >> 8) & 0xFF), UInt8(answer & 0xFF)]
        }
        return message
    }

    /// Queries from other hosts to the host's own DNS service (10.0.0.53), 10,000 of them,
    /// enough to fill every set of the query table's 2,048 slots, do not crowd out the
    /// host's own query (from 10.0.0.5): its response names the address. The service's
    /// answers to those hosts name nothing and are not refused as unsolicited.
    @Test func queriesToTheHostsDNSServiceLeaveRoomForItsOwn() throws {
        var file = PcapFile()
        let client: UInt32 = 0xC633_6400  // 198.51.100.0: other hosts
        for n in 0..<10_000 {
            file.addUDP(from: client | UInt32(n % 250 + 1), to: 0x0A00_0035, sport: UInt16(10_000 + n % 50_000), dport: 53,
                        data: Self.dnsMessage(id: UInt16(n), name: "flood.example.test"))
        }
        file.addUDP(from: 0x0A00_0005, to: 0xC000_0235, sport: 40_000, dport: 53,
                    data: Self.dnsMessage(id: 0x1234, name: "svc.example.test"))
        file.addUDP(from: 0xC000_0235, to: 0x0A00_0005, sport: 53, dport: 40_000,
                    data: Self.dnsMessage(id: 0x1234, name: "svc.example.test", answer: 0xCB00_7107))
        file.addUDP(from: 0x0A00_0035, to: client | 1, sport: 53, dport: 10_000,
                    data: Self.dnsMessage(id: 0, name: "flood.example.test", answer: 0xCB00_7109))
        let (dns, names) = try captureDNS(file)
        #expect(dns.queries == 1)
        #expect(dns.queriesDropped == 0)
        #expect(dns.messages[Int(DNSStatus.ok.rawValue)] == 2)
        #expect(dns.refused.indices.allSatisfy { dns.refused[$0] == 0 })
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7107)) == "svc.example.test")
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7109)) == "")
        #expect(names.count == 1)
    }

    /// The capture checks each response against the query table with the response's own
    /// addresses, port and time: an answer 6 seconds after its query is refused as late,
    /// one from a server the query did not go to as unsolicited, and only the answer that
    /// matches in every respect names its address.
    @Test func responsesAreMatchedByTheirAddressesPortAndTime() throws {
        var file = PcapFile()
        let host: UInt32 = 0x0A00_0005, server: UInt32 = 0xC000_0235, other: UInt32 = 0xC000_0236
        file.addUDP(from: host, to: server, sport: 40_000, dport: 53, data: Self.dnsMessage(id: 1, name: "late.example.test"))
        file.addUDP(from: server, to: host, sport: 53, dport: 40_000,
                    data: Self.dnsMessage(id: 1, name: "late.example.test", answer: 0xCB00_7101), at: 6)
        file.addUDP(from: host, to: server, sport: 40_001, dport: 53,
                    data: Self.dnsMessage(id: 2, name: "forged.example.test"), at: 6)
        file.addUDP(from: other, to: host, sport: 53, dport: 40_001,
                    data: Self.dnsMessage(id: 2, name: "forged.example.test", answer: 0xCB00_7102), at: 6)
        file.addUDP(from: server, to: host, sport: 53, dport: 40_002,
                    data: Self.dnsMessage(id: 2, name: "forged.example.test", answer: 0xCB00_7102), at: 6)
        file.addUDP(from: server, to: host, sport: 53, dport: 40_001,
                    data: Self.dnsMessage(id: 2, name: "forged.example.test", answer: 0xCB00_7103), at: 7)
        let (dns, names) = try captureDNS(file)
        #expect(dns.queries == 2)
        #expect(dns.refused[Int(DNSQueryMatch.late.rawValue)] == 1)
        #expect(dns.refused[Int(DNSQueryMatch.unsolicited.rawValue)] == 2)
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7101)) == "")
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7102)) == "")
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7103)) == "forged.example.test")
        #expect(names.count == 1)
    }

    /// Runs `file` through a capture source with DNS names on, into an aggregator; returns
    /// the source's DNS counters and the names the aggregator learned.
    /// Runs `file` through a source that knows the host as `local` (this suite's local
    /// network by default), returning its DNS counters and the names it recorded.
    /// A query claiming the host's address from another host's frame is not remembered,
    /// so its answer names nothing; the host's own query, from its own link-layer address,
    /// is answered as before. A capture file has no link-layer addresses to go by, and a
    /// loopback interface's frames are all the host's own: both remember every query.
    @Test func queriesForgedInTheHostsNameAreNotRemembered() throws {
        let host: UInt32 = 0x0A00_0005, server: UInt32 = 0xC000_0235
        let hostHardware: UInt64 = 0x02_00_00_00_00_02, intruder: UInt64 = 0x02_00_00_00_00_66
        var file = PcapFile()
        // The host's own lookup, then two forged in its name: from another sender, and to
        // the broadcast address from the host's own.
        file.addUDP(from: host, to: server, sport: 40_000, dport: 53, data: Self.dnsMessage(id: 1, name: "own.example.test"))
        file.addUDP(from: host, to: server, sport: 40_001, dport: 53, data: Self.dnsMessage(id: 2, name: "forged.example.test"),
                    sender: intruder)
        file.addUDP(from: host, to: server, sport: 40_002, dport: 53, data: Self.dnsMessage(id: 3, name: "broadcast.example.test"),
                    receiver: 0xFF_FF_FF_FF_FF_FF)
        file.addUDP(from: server, to: host, sport: 53, dport: 40_000,
                    data: Self.dnsMessage(id: 1, name: "own.example.test", answer: 0xCB00_7101))
        file.addUDP(from: server, to: host, sport: 53, dport: 40_001,
                    data: Self.dnsMessage(id: 2, name: "forged.example.test", answer: 0xCB00_7102))
        file.addUDP(from: server, to: host, sport: 53, dport: 40_002,
                    data: Self.dnsMessage(id: 3, name: "broadcast.example.test", answer: 0xCB00_7103))
        let live = LocalAddresses(addresses: [IPAddress(ipv4: host)], networks: [IPNetwork("10.0.0.0/24")!],
                                  hardwareAddresses: [hostHardware, 0x02_00_00_00_00_07])
        let (dns, names) = try captureDNS(file, local: live)
        #expect(dns.queries == 1)
        #expect(dns.queriesSpoofed == 2)
        #expect(dns.refused[Int(DNSQueryMatch.unsolicited.rawValue)] == 2)
        #expect(names.name(for: IPAddress(ipv4: 0xCB00_7101)) == "own.example.test")
        #expect(names.count == 1)

        let fileOnly = LocalAddresses(addresses: [IPAddress(ipv4: host)], networks: [IPNetwork("10.0.0.0/24")!])
        for (local, loopback) in [(fileOnly, false), (live, true)] {
            let (dns, names) = try captureDNS(file, local: local, loopback: loopback)
            #expect(dns.queries == 3, "loopback \(loopback)")
            #expect(dns.queriesSpoofed == 0, "loopback \(loopback)")
            #expect(names.count == 3, "loopback \(loopback)")
        }
    }

    /// In a cooked capture (`any`) the kernel's packet type tells: a query from the host's
    /// address marked as arriving is forged, one marked as leaving is the host's, and one
    /// on a loopback device is the host's either way.
    @Test func cookedCapturesTellForgedQueriesByPacketType() throws {
        let host: UInt32 = 0x0A00_0005, server: UInt32 = 0xC000_0235
        func cooked(packetType: UInt16, deviceType: UInt16, _ packet: [UInt8]) -> [UInt8] {
            [UInt8(packetType >> 8), UInt8(packetType & 0xFF), UInt8(deviceType >> 8), UInt8(deviceType & 0xFF), 0, 6,
             2, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00] + packet
        }
        var file = PcapFile(linkType: 113)
        for (id, packetType, deviceType) in [(1, 4, 1), (2, 0, 1), (3, 0, 772)] as [(UInt16, UInt16, UInt16)] {
            file.add(frame: cooked(packetType: packetType, deviceType: deviceType,
                                   PcapFile.ipv4UDP(from: host, to: server, sport: 40_000 + id, dport: 53,
                                                    data: Self.dnsMessage(id: id, name: "q\(id).example.test"))))
        }
        let live = LocalAddresses(addresses: [IPAddress(ipv4: host)], hardwareAddresses: [0x02_00_00_00_00_02])
        let (dns, _) = try captureDNS(file, local: live)
        #expect(dns.queries == 2)
        #expect(dns.queriesSpoofed == 1)
    }

    private func captureDNS(_ file: PcapFile, local: LocalAddresses? = nil, loopback: Bool = false) throws -> (DNSTally, DNSNameSnapshot) {
        let local = local ?? self.local
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(maxSeries: 10_000, localAddresses: local),
                                           maxDNSNames: 100)
        let source = CaptureSource(handle: try PcapHandle.openOffline(path: path), policy: .wait,
                                   wakeUp: aggregator.wakeUp, localAddresses: local, loopback: loopback)
        aggregator.attach(source.ring)
        if let dns = source.dnsRing { aggregator.attach(dns: dns) }
        aggregator.start()
        source.run()
        aggregator.stop()
        aggregator.detach(source.ring)
        if let dns = source.dnsRing { aggregator.detach(dns: dns) }
        return (source.counters.dns, aggregator.dnsNames())
    }
}

