import Foundation
import Logging
import NetAddress
import PacketDecoding
import Testing
import Traffic
@testable import Agent

@Suite struct StateTaskTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("planet-state-\(UUID().uuidString)").path
    let local = LocalAddresses(addresses: [IPAddress("10.0.0.5")!], networks: [])

    func aggregator() -> TrafficAggregator {
        TrafficAggregator(accounting: TrafficAccounting(maxSeries: 100, localAddresses: local), maxDNSNames: 100)
    }

    func task(_ aggregator: TrafficAggregator, history: TrafficHistory? = nil, host: String = "web-1",
              directory: String? = nil) -> StateTask {
        StateTask(directory: directory ?? self.directory, aggregator: aggregator, history: history, maxDNSNames: 100,
                  host: host, logger: Logger(label: "test"))
    }

    /// A state with one history bucket and one DNS name, saved by a first task.
    func savedState(at time: Double = 1_000_000) -> StateTask {
        let traffic = aggregator()
        let history = TrafficHistory()
        history.restore([.hour: [HistoryBucket(start: 999_960, ingressBytes: 5, egressBytes: 6)]], at: time)
        traffic.restore(AgentState(dnsNames: [SavedDNSName(address: IPAddress("192.0.2.1")!, name: "api.example", expiry: 2_000_000)]),
                        history: nil, at: time)
        let first = task(traffic, history: history)
        first.restore(at: time)
        first.save(at: time)
        return first
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }

    @Test func whatOneRunSavesTheNextRestores() {
        defer { cleanUp() }
        let first = savedState()
        #expect(first.reading().savesSucceeded == 1)
        #expect(first.reading().fileBytes > 0)
        let attributes = try? FileManager.default.attributesOfItem(atPath: first.path)
        #expect((attributes?[.posixPermissions] as? Int) == 0o600)

        let traffic = aggregator()
        let history = TrafficHistory()
        let second = task(traffic, history: history)
        second.restore(at: 1_000_030)
        #expect(second.reading().restored == [.history: 1, .dnsNames: 1, .tcpServers: 0, .udpServerPorts: 0])
        #expect(traffic.dnsNames().name(for: IPAddress("192.0.2.1")!) == "api.example")
        #expect(history.buckets(.hour).contains(HistoryBucket(start: 999_960, ingressBytes: 5, egressBytes: 6)))
    }

    @Test func aMissingFileStartsEmptyAndMakesTheDirectory() {
        defer { cleanUp() }
        let task = task(aggregator())
        task.restore()
        #expect(task.reading().restored.values.allSatisfy { $0 == 0 })
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    /// Each kind of file it cannot use is moved aside as NAME.bad, the agent starts empty,
    /// and the next save writes a good file in its place.
    @Test(arguments: ["garbage", "other host", "symlink", "directory", "truncated"])
    func aFileItCannotUseIsSetAside(kind: String) throws {
        defer { cleanUp() }
        let first = savedState()
        let path = first.path
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let target = directory + "/target"
        try FileManager.default.removeItem(atPath: path)
        switch kind {
        case "garbage": try Data("not a state file\n".utf8).write(to: URL(fileURLWithPath: path))
        case "other host":
            try Data(StateFile.encode(AgentState(), host: "db-9", savedAt: 0)).write(to: URL(fileURLWithPath: path))
        case "symlink":
            try good.write(to: URL(fileURLWithPath: target))
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        default: try good.prefix(good.count / 2).write(to: URL(fileURLWithPath: path))
        }

        let traffic = aggregator()
        let second = task(traffic)
        second.restore()
        #expect(second.reading().restored.values.allSatisfy { $0 == 0 })
        #expect(traffic.dnsNames().count == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect((try? FileManager.default.attributesOfItem(atPath: path + ".bad")) != nil)
        if kind == "symlink" {
            // The link was moved, never what it points to.
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == good)
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path + ".bad")) == target)
        }
        second.save()
        #expect(second.reading().savesSucceeded == 1)
        #expect(try StateFile.decode(Array(Data(contentsOf: URL(fileURLWithPath: path))), host: "web-1", maxBytes: 1 << 20).state
                == AgentState(history: [:], dnsNames: [], learned: LearnedServers()))
    }

    /// A save killed after writing its temporary file leaves the previous file whole: the
    /// next start reads it, and the next save replaces the leftover.
    @Test func aLeftoverTemporaryFileChangesNothing() throws {
        defer { cleanUp() }
        let first = savedState()
        try Data("half a save".utf8).write(to: URL(fileURLWithPath: first.path + ".tmp"))
        let traffic = aggregator()
        let second = task(traffic)
        second.restore()
        #expect(second.reading().restored[.dnsNames] == 1)
        second.save()
        #expect(second.reading().savesSucceeded == 1)
        #expect(!FileManager.default.fileExists(atPath: first.path + ".tmp"))
    }

    /// A directory it cannot write (here a path under a regular file, which fails even for
    /// root) is counted as failed saves, and the collector reports them; nothing crashes.
    @Test func aDirectoryItCannotWriteIsCountedNotFatal() throws {
        defer { cleanUp() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/plain-file"
        try Data().write(to: URL(fileURLWithPath: file))
        let task = task(aggregator(), directory: file + "/state")
        task.restore()
        task.save()
        task.save()
        let reading = task.reading()
        #expect(reading.savesFailed == 2)
        #expect(reading.savesSucceeded == 0)
        #expect(reading.latestSaveFailed)
        #expect(reading.lastSaveTime == nil)
    }
}
