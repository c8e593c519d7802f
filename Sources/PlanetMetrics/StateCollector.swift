import Exposition
import Traffic

/// The state file's health: saves by result, when the latest one succeeded, its size, and
/// what was restored at start, so an alert can tell when state stops being saved.
public struct StateCollector: MetricsCollector {
    /// The state task's figures at one moment.
    public struct Reading: Sendable {
        /// Saves that succeeded and that failed, since start.
        public var savesSucceeded: UInt64 = 0
        public var savesFailed: UInt64 = 0
        /// When the latest successful save finished, seconds since 1970 (nil: none yet).
        public var lastSaveTime: Double? = nil
        /// Bytes of the latest file written.
        public var fileBytes = 0
        /// Entries of each part restored at start (all zero when nothing was).
        public var restored: [StatePart: Int] = [:]
        /// True while the latest save failed.
        public var latestSaveFailed = false

        public init() {}
    }

    public let name = "state"
    let read: @Sendable () -> Reading

    public init(read: @escaping @Sendable () -> Reading) { self.read = read }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let reading = read()
        writer.family("planet_state_saves_total", help: "Saves of the state file (-state-directory), by result", kind: .counter)
        writer.sample("planet_state_saves_total", ["result": "success"], reading.savesSucceeded)
        writer.sample("planet_state_saves_total", ["result": "error"], reading.savesFailed)
        writer.family("planet_state_last_save_timestamp_seconds", help: "When the state file was last saved whole, seconds since 1970 (0: not yet)", kind: .gauge)
        writer.sample("planet_state_last_save_timestamp_seconds", [:], reading.lastSaveTime ?? 0)
        writer.family("planet_state_file_bytes", help: "Size of the state file last saved", kind: .gauge)
        writer.sample("planet_state_file_bytes", [:], UInt64(reading.fileBytes))
        writer.family("planet_state_restored", help: "Entries of each part of the state file restored at start (0: none, the file was missing or set aside)", kind: .gauge)
        for part in StatePart.allCases {
            writer.sample("planet_state_restored", ["part": part.rawValue], UInt64(reading.restored[part] ?? 0))
        }
        // A failing latest save makes the collector unsuccessful, like a failed task.
        return !reading.latestSaveFailed
    }
}
