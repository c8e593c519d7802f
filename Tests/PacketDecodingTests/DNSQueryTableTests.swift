import NetAddress
import PacketDecoding
import Testing

/// Responses are matched to the queries seen: same ID, addresses and ports, within the window.
struct DNSQueryTableTests {
    static let client = IPAddress("10.0.0.5")!
    static let resolver = IPAddress("203.0.113.53")!

    /// A query from `client`:`port` to `server`:53, or the response back, at `micros`.
    static func packet(query: Bool, port: UInt16 = 40000, server: IPAddress = resolver, ipProtocol: UInt8 = 17,
                       at micros: UInt64 = 1_000_000) -> PacketSummary {
        var summary = PacketSummary()
        (summary.source, summary.destination) = query ? (client, server) : (server, client)
        (summary.sourcePort, summary.destinationPort) = query ? (port, 53) : (53, port)
        summary.ipProtocol = ipProtocol
        summary.hasPorts = true
        summary.timestamp = micros
        return summary
    }

    @Test func aResponseToAQuerySeenMatchesOnce() {
        let table = DNSQueryTable(seed: 1)
        table.record(query: Self.packet(query: true), id: 7)
        #expect(table.match(response: Self.packet(query: false, at: 1_200_000), id: 7) == .matched)
        // Answered: the same answer again is one nobody is waiting for.
        #expect(table.match(response: Self.packet(query: false, at: 1_300_000), id: 7) == .unsolicited)
        #expect(table.recorded == 1)
    }

    @Test func anythingThatDiffersIsUnsolicited() {
        let table = DNSQueryTable(seed: 2)
        table.record(query: Self.packet(query: true), id: 7)
        #expect(table.match(response: Self.packet(query: false), id: 8) == .unsolicited)
        #expect(table.match(response: Self.packet(query: false, port: 40001), id: 7) == .unsolicited)
        #expect(table.match(response: Self.packet(query: false, server: IPAddress("203.0.113.54")!), id: 7) == .unsolicited)
        #expect(table.match(response: Self.packet(query: false, ipProtocol: 6), id: 7) == .unsolicited)
        // None of them took the query away.
        #expect(table.match(response: Self.packet(query: false), id: 7) == .matched)
    }

    @Test func anAnswerAfterTheWindowIsLate() {
        let table = DNSQueryTable(seed: 3)
        table.record(query: Self.packet(query: true), id: 7)
        let late = 1_000_000 + DNSQueryTable.window + 1
        #expect(table.match(response: Self.packet(query: false, at: late), id: 7) == .late)
    }

    @Test func theQueryAskedAgainRenewsItsWait() {
        let table = DNSQueryTable(seed: 4)
        table.record(query: Self.packet(query: true), id: 7)
        table.record(query: Self.packet(query: true, at: 1_000_000 + DNSQueryTable.window), id: 7)
        #expect(table.match(response: Self.packet(query: false, at: 1_000_000 + DNSQueryTable.window + 1_000), id: 7) == .matched)
    }

    @Test func aFullSetDropsNewQueriesUntilItsQueriesAreOld() {
        // One set of four slots: a fifth live query has no room.
        let table = DNSQueryTable(slotCount: 1, seed: 5)
        #expect(table.slotCount == 4)
        for id in 0..<5 { table.record(query: Self.packet(query: true), id: UInt16(id)) }
        #expect(table.recorded == 4)
        #expect(table.dropped == 1)
        #expect(table.match(response: Self.packet(query: false), id: 4) == .unsolicited)
        // Past the window the old queries' slots are free again.
        table.record(query: Self.packet(query: true, at: 1_000_000 + DNSQueryTable.window + 1), id: 9)
        #expect(table.dropped == 1)
        #expect(table.match(response: Self.packet(query: false, at: 1_000_000 + DNSQueryTable.window + 2), id: 9) == .matched)
    }

    @Test func aFloodOfQueriesStaysInItsFixedTable() {
        let table = DNSQueryTable(slotCount: 256, seed: 6)
        for id in 0..<10_000 { table.record(query: Self.packet(query: true, port: UInt16(1024 + id)), id: UInt16(id)) }
        #expect(table.recorded + table.dropped == 10_000)
        #expect(table.recorded <= 256)
    }
}

extension DNSQueryTable {
    /// `match` with the fields of the response `summary` carries, as the capture reads them.
    func match(response summary: PacketSummary, id: UInt16) -> DNSQueryMatch {
        match(client: summary.destination, server: summary.source, clientPort: summary.destinationPort, id: id,
              ipProtocol: summary.ipProtocol, at: summary.timestamp)
    }
}
