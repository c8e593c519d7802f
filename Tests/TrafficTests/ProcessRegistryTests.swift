import NetAddress
import PacketDecoding
import Testing
@testable import Traffic

/// Process names are interned for the series that use them, and only for as long.
@Suite struct ProcessRegistryTests {
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!])

    func tcp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16) -> PacketSummary {
        TrafficAccountingTests().packet(src, dst, sport: sport, dport: dport)
    }

    /// A socket-table reading in which each name owns one client socket on its own port.
    func reading(_ names: [String], firstPort: UInt16) -> EndpointOwners {
        EndpointOwners(sockets: names.enumerated().map { index, name in
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("10.0.0.5")!,
                                  port: firstPort + UInt16(index), processName: name)
        })
    }

    func processName(_ a: TrafficAccounting, port: UInt16) -> String? {
        let snapshot = a.table.snapshot()
        guard let series = snapshot.first(where: { $0.key.port == 443 && $0.key.peer == IPAddress("203.0.113.\(port % 200)")! })
        else { return nil }
        return a.processRegistry.name(series.key.process)
    }

    @Test func namesNoSeriesUsesAreReclaimedForNewProcesses() {
        // Room for 8 ids ("" and seven names). Short-lived processes come and go; only
        // one of each reading sends traffic, and the table keeps the two latest series.
        let a = TrafficAccounting(maxSeries: 2, localAddresses: local, processNameLimit: 8)
        for round in 0..<20 {
            let names = (0..<5).map { "job-\(round)-\($0)" }
            let port = UInt16(40000 + round * 10)
            a.endpoints = reading(names, firstPort: port)
            a.count(tcp("10.0.0.5", "203.0.113.\(port % 200)", port, 443))
            #expect(processName(a, port: port) == names[0], "round \(round)")
        }
        #expect(a.processRegistry.count <= 8)
        #expect(a.processRegistry.refused == 0)
    }

    @Test func namesInUseAreKeptAndWhatDoesNotFitIsCounted() {
        let a = TrafficAccounting(maxSeries: 1000, localAddresses: local, processNameLimit: 4)
        a.endpoints = reading(["a", "b", "c"], firstPort: 41000)
        for index in 0..<3 { a.count(tcp("10.0.0.5", "203.0.113.\(10 + index)", 41000 + UInt16(index), 443)) }
        // Every id is held by a series: the new name cannot have one.
        a.endpoints = reading(["a", "b", "c", "d"], firstPort: 41000)
        #expect(a.processRegistry.existingID("d") == nil)
        #expect(a.processRegistry.refused == 1)
        for name in ["a", "b", "c"] { #expect(a.processRegistry.existingID(name) != nil) }
        let series = a.table.snapshot()
        #expect(Set(series.map { a.processRegistry.name($0.key.process) }) == ["a", "b", "c"])
    }

    @Test func oneNameInSeveralUnitsSplitsItsSeriesAndOneUnitDoesNot() {
        let a = TrafficAccounting(maxSeries: 1000, localAddresses: local)
        let peer = "203.0.113.9"
        func socket(_ port: UInt16, _ unit: String) -> EndpointOwners.Socket {
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("10.0.0.5")!, port: port,
                                  processName: "java", processUnit: unit)
        }
        // Two connections of java in billing.service, one in search.service, to one peer and port.
        a.endpoints = EndpointOwners(sockets: [socket(42000, "billing.service"), socket(42001, "billing.service"),
                                               socket(42002, "search.service")])
        a.count(tcp("10.0.0.5", peer, 42000, 443))
        a.count(tcp("10.0.0.5", peer, 42001, 443))
        a.count(tcp("10.0.0.5", peer, 42002, 443))
        let series = a.table.snapshot()
        #expect(series.count == 2)
        let byUnit = Dictionary(uniqueKeysWithValues: series.map { (a.processRegistry.unit($0.key.process), $0.counters.packets) })
        #expect(byUnit == ["billing.service": 2, "search.service": 1])
        #expect(Set(series.map { a.processRegistry.name($0.key.process) }) == ["java"])
        // The keys differ only in the process id.
        #expect(Set(series.map { TrafficKey(peer: $0.key.peer, direction: $0.key.direction, ipProtocol: $0.key.ipProtocol,
                                            port: $0.key.servicePort) }).count == 1)
    }
}
