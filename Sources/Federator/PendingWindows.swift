import Diagnostics
import Foundation

/// One data set over one window that some stores have not received yet.
public struct PendingWindow: Sendable, Equatable, Codable {
    /// Which query to run again.
    public var dataSet: DataSet
    /// First and last evaluation time (Unix seconds) and their spacing.
    public var start: Int
    public var end: Int
    public var step: Int
    /// The stores still missing it, sorted.
    public var sinks: [SinkID]

    /// A window as given; `sinks` are kept sorted so equal sets compare equal.
    public init(dataSet: DataSet, start: Int, end: Int, step: Int, sinks: [SinkID]) {
        self.dataSet = dataSet
        self.start = start
        self.end = end
        self.step = step
        self.sinks = Array(Set(sinks)).sorted()
    }

    enum CodingKeys: String, CodingKey {
        case dataSet = "data_set", start, end, step, sinks
    }

    /// Unix times a window may have (up to about the year 36812) and the steps it may
    /// take (up to a year): within them no arithmetic on a window can overflow.
    static let validTimes = 0...(1 << 40)
    static let validSteps = 1...(366 * 86_400)

    /// Reads a window from a state file, refusing values no run writes (a step of 0, a
    /// time past ``validTimes``, an end before its start) with one line naming them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let start = try container.decode(Int.self, forKey: .start)
        let end = try container.decode(Int.self, forKey: .end)
        let step = try container.decode(Int.self, forKey: .step)
        guard Self.validTimes.contains(start), Self.validTimes.contains(end), start <= end, Self.validSteps.contains(step) else {
            throw DecodingError.dataCorruptedError(
                forKey: .step, in: container,
                debugDescription: "window start \(start) end \(end) step \(step) is not one a run writes (times 0 to \(Self.validTimes.upperBound), step 1 to \(Self.validSteps.upperBound), start <= end)")
        }
        self.init(dataSet: try container.decode(DataSet.self, forKey: .dataSet), start: start, end: end, step: step,
                  sinks: try container.decode([SinkID].self, forKey: .sinks))
    }

    /// Number of evaluations in the window.
    var evaluations: Int { (end - start) / step + 1 }

    /// The window cut into queries of at most `maxEvaluations` evaluations, oldest first.
    func chunks(maxEvaluations: Int) -> [PendingWindow] {
        let size = max(1, maxEvaluations) * step
        return stride(from: start, through: end, by: size).map { chunkStart in
            PendingWindow(dataSet: dataSet, start: chunkStart, end: min(end, chunkStart + size - step), step: step, sinks: sinks)
        }
    }
}

extension DataSet: Codable {}

/// What the federator remembers between runs: the end of the newest window it has
/// handled, and the windows not yet written (oldest first). Kept in memory, and in the
/// `-state-file` when one is given, so a restart catches up too.
public struct FederationState: Sendable, Equatable, Codable {
    /// The newest evaluation time handed to a run (written or pending).
    public var lastEnd: Int?
    /// Windows to write again, oldest first.
    public private(set) var pending: [PendingWindow] = []

    /// The list is bounded: past this many entries the oldest are dropped and counted.
    public static let maxPending = 1000

    enum CodingKeys: String, CodingKey {
        case lastEnd = "last_end", pending
    }

    /// An empty state.
    public init(lastEnd: Int? = nil, pending: [PendingWindow] = []) {
        self.lastEnd = lastEnd
        for window in pending { _ = add(window) }
    }

    /// Reads a state file's contents; a `last_end` past ``PendingWindow/validTimes`` is refused.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let lastEnd = try container.decodeIfPresent(Int.self, forKey: .lastEnd)
        if let lastEnd, !PendingWindow.validTimes.contains(lastEnd) {
            throw DecodingError.dataCorruptedError(forKey: .lastEnd, in: container,
                                                   debugDescription: "last_end \(lastEnd) is not a Unix time a run writes")
        }
        self.init(lastEnd: lastEnd, pending: try container.decodeIfPresent([PendingWindow].self, forKey: .pending) ?? [])
    }

    /// Records `window`, joining it to an entry it continues (same data set, step and
    /// stores) so that a long outage stays one entry per data set. Returns the number of
    /// evaluations dropped to keep the list within ``maxPending``.
    @discardableResult
    public mutating func add(_ window: PendingWindow) -> Int {
        guard !window.sinks.isEmpty, window.end >= window.start else { return 0 }
        if let index = pending.lastIndex(where: {
            $0.dataSet == window.dataSet && $0.step == window.step && $0.sinks == window.sinks
                && $0.end + $0.step == window.start
        }) {
            pending[index].end = window.end
            return 0
        }
        if pending.contains(window) { return 0 }
        pending.append(window)
        pending.sort { ($0.start, $0.dataSet.order) < ($1.start, $1.dataSet.order) }
        var dropped = 0
        while pending.count > Self.maxPending {
            dropped += pending.removeFirst().evaluations
        }
        return dropped
    }

    /// Takes every pending window out of the list, oldest first.
    public mutating func takeAll() -> [PendingWindow] {
        defer { pending.removeAll() }
        return pending
    }

    /// Drops the evaluations before `oldest` (too old to catch up: Prometheus may no longer
    /// hold them, and catching up must end); returns how many were dropped.
    @discardableResult
    public mutating func expire(before oldest: Int) -> Int {
        var dropped = 0
        pending = pending.compactMap { window in
            guard window.start < oldest else { return window }
            var kept = window
            let cut = ((oldest - window.start) + window.step - 1) / window.step
            kept.start = window.start + cut * window.step
            dropped += min(cut, window.evaluations)
            return kept.start <= kept.end ? kept : nil
        }
        return dropped
    }

    /// Reads a state file; a missing file is an empty state.
    public static func load(from path: String) throws -> FederationState {
        guard FileManager.default.fileExists(atPath: path) else { return FederationState() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(FederationState.self, from: data)
        } catch DecodingError.dataCorrupted(let context) {
            throw FederatorError(description: "cannot read state file \(path): \(context.debugDescription)")
        } catch {
            throw FederatorError(description: "cannot read state file \(path): \(error.localizedDescription)")
        }
    }

    /// Writes the state to `path` through a temporary file (mode 0600, never through a
    /// symlink planted at its name), fsync and a rename, so a crash never leaves half a file.
    public func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            try replaceFile(path, with: Array(try encoder.encode(self)))
        } catch {
            throw FederatorError(description: "cannot write state file \(path): \(error); check the directory exists and is writable")
        }
    }
}

extension DataSet {
    /// Position in ``DataSet/allCases``: the order a run queries them in.
    var order: Int { DataSet.allCases.firstIndex(of: self) ?? 0 }
}
