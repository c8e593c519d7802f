import Foundation
import Glibc
import Testing
@testable import Federator

@Suite struct PendingWindowsTests {
    static func window(_ dataSet: DataSet, _ start: Int, _ end: Int, step: Int = 30, sinks: [SinkID] = [.influxdb]) -> PendingWindow {
        PendingWindow(dataSet: dataSet, start: start, end: end, step: step, sinks: sinks)
    }

    static func window(_ start: Int, _ end: Int, step: Int = 30, sinks: [SinkID] = [.influxdb]) -> PendingWindow {
        window(.traffic, start, end, step: step, sinks: sinks)
    }

    @Test func consecutiveFailuresStayOneEntry() {
        var state = FederationState()
        for run in 0..<100 {
            state.add(Self.window(1000 + run * 60, 1030 + run * 60))
        }
        #expect(state.pending == [Self.window(1000, 6970)])
    }

    @Test func differentStoresDataSetsOrStepsStaySeparateAndOldestFirst() {
        var state = FederationState()
        state.add(Self.window(.upstream, 1060, 1090))
        state.add(Self.window(.traffic, 1060, 1090, sinks: [.remoteWrite, .influxdb]))
        state.add(Self.window(.traffic, 1000, 1030))
        state.add(Self.window(.traffic, 1060, 1090, step: 10))
        state.add(Self.window(.traffic, 1000, 1030))
        #expect(state.pending.map(\.start) == [1000, 1060, 1060, 1060])
        #expect(state.pending[1].sinks == [.influxdb, .remoteWrite])
        #expect(state.pending.count == 4)
    }

    @Test func boundedListDropsTheOldest() {
        var state = FederationState()
        var dropped = 0
        for index in 0..<(FederationState.maxPending + 5) {
            // Gaps between windows, so none merge.
            dropped += state.add(Self.window(index * 100, index * 100 + 30))
        }
        #expect(state.pending.count == FederationState.maxPending)
        #expect(dropped == 5 * 2)
        #expect(state.pending.first?.start == 500)
    }

    @Test func expiryCutsOldEvaluations() {
        var state = FederationState(pending: [Self.window(1000, 1090), Self.window(.upstream, 2000, 2030)])
        #expect(state.expire(before: 1045) == 2)
        #expect(state.pending == [Self.window(1060, 1090), Self.window(.upstream, 2000, 2030)])
        #expect(state.expire(before: 5000) == 4)
        #expect(state.pending.isEmpty)
    }

    @Test func chunksCoverTheWindowInOrder() {
        let chunks = Self.window(0, 30 * 249).chunks(maxEvaluations: 120)
        let bounds: [[Int]] = chunks.map { [$0.start, $0.end] }
        #expect(bounds == [[0, 3570], [3600, 7170], [7200, 7470]])
        let evaluations: [Int] = chunks.map { $0.evaluations }
        #expect(evaluations == [120, 120, 10])
    }

    @Test func stateFileRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("federator-state-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.json").path
        #expect(try FederationState.load(from: path) == FederationState())
        let state = FederationState(lastEnd: 1090, pending: [Self.window(.downstream, 1000, 1090, sinks: [.remoteWrite, .influxdb])])
        try state.save(to: path)
        #expect(try FederationState.load(from: path) == state)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#""data_set":"downstream""#) && text.contains(#""last_end":1090"#))

        try Data("{not json".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: FederatorError.self) { try FederationState.load(from: path) }
        #expect(throws: FederatorError.self) { try state.save(to: directory.appendingPathComponent("missing/state.json").path) }
    }

    @Test func theStateFileIsNeverWrittenThroughASymlink() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("federator-state-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.json").path
        // Another user's file, and a link to it planted where the temporary file goes.
        let victim = directory.appendingPathComponent("victim").path
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(symlink(victim, path + ".tmp") == 0)
        let state = FederationState(lastEnd: 1090, pending: [Self.window(.traffic, 1000, 1090, sinks: [.influxdb])])
        try state.save(to: path)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try FederationState.load(from: path) == state)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFREG)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}
