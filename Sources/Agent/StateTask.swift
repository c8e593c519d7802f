import Diagnostics
import Foundation
import Logging
import NetAddress
import PlanetMetrics
import ServiceLifecycle
import Synchronization
import Traffic

/// Keeps what the agent learned across restarts in `-state-directory`: restores it once
/// at start, before counting begins, then saves it every `interval` (the first save at
/// once, so a directory it cannot write shows at start) and at graceful shutdown.
///
/// A file it cannot use is set aside as NAME.bad with one line in the log, and the agent
/// starts empty: its own state never stops it from starting. A save that fails is logged
/// once (and again only when the reason changes) and counted.
final class StateTask: Service, Sendable {
    /// The state file.
    let path: String
    private let directory: String
    private let aggregator: TrafficAggregator
    private let history: TrafficHistory?
    private let host: String
    private let interval: Duration
    private let logger: Logger
    /// The largest file read (see `StateFile.maxBytes(dnsNames:)`).
    private let maxBytes: Int
    private let status = Mutex(Status())

    private struct Status {
        var reading = StateCollector.Reading()
        /// The latest failure's text, so a failure repeated every minute is logged once.
        var lastError: String? = nil
    }

    init(directory: String, aggregator: TrafficAggregator, history: TrafficHistory?, maxDNSNames: Int,
         host: String = HostIdentity.hostname(), interval: Duration = .seconds(60), logger: Logger) {
        // Never below the default's bound, so lowering -capture-dns-max-names does not
        // make the previous run's file too large to read (the table evicts what is over).
        self.maxBytes = StateFile.maxBytes(dnsNames: max(maxDNSNames, AgentDefaults.maxDNSNames))
        self.directory = directory
        self.path = directory.hasSuffix("/") ? directory + StateFile.fileName : directory + "/" + StateFile.fileName
        self.aggregator = aggregator
        self.history = history
        self.host = host
        self.interval = interval
        self.logger = logger
    }

    /// The figures of planet_state_*.
    func reading() -> StateCollector.Reading { status.withLock { $0.reading } }

    /// Reads the state file and puts back what it holds; call it before counting starts.
    func restore(at time: Double = Date().timeIntervalSince1970) {
        // A missing directory is made (one level, private), as systemd's StateDirectory= does.
        if mkdir(directory, 0o700) == 0 { logger.info("state directory created", metadata: ["path": "\(directory)"]) }
        let bytes: [UInt8]
        do {
            bytes = try readFile(path, limit: maxBytes, followingSymlinks: false)
        } catch {
            switch error.errno {
            case ENOENT:
                logger.info("no state file yet; starting empty", metadata: ["path": "\(path)"])
            case ELOOP, EFBIG, EISDIR:
                let reason = error.errno == ELOOP ? "it is a symlink" : error.errno == EFBIG
                    ? "it is larger than \(maxBytes) bytes" : "it is a directory"
                setAside(because: reason)
            default:
                logger.error("cannot read state file: \(error); starting empty")
            }
            return
        }
        do {
            let (state, savedAt) = try StateFile.decode(bytes, host: host, maxBytes: maxBytes)
            let restored = aggregator.restore(state, history: history, at: time)
            status.withLock { $0.reading.restored = restored }
            var metadata: Logger.Metadata = ["path": "\(path)", "saved_at": "\(savedAt)"]
            for part in StatePart.allCases { metadata[part.rawValue] = "\(restored[part] ?? 0)" }
            logger.info("state restored", metadata: metadata)
        } catch {
            setAside(because: error.description)
        }
    }

    private func setAside(because reason: String) {
        do {
            let aside = try Diagnostics.setAside(path)
            logger.error("state file \(path) cannot be used: \(reason); moved to \(aside), starting empty")
        } catch {
            logger.error("state file \(path) cannot be used: \(reason), nor moved aside: \(error); starting empty")
        }
    }

    /// Writes the state file now (a temporary file, fsync, rename, fsync of the directory).
    func save(at time: Double = Date().timeIntervalSince1970) {
        let bytes = StateFile.encode(aggregator.savedState(history: history), host: host, savedAt: Int64(time.rounded(.down)))
        let failure: String?
        do {
            try replaceFile(path, with: bytes)
            failure = nil
        } catch {
            failure = "\(error)"
        }
        let (logFailure, recovered) = status.withLock { status -> (String?, Bool) in
            let previous = status.lastError
            status.lastError = failure
            status.reading.latestSaveFailed = failure != nil
            guard let failure else {
                status.reading.savesSucceeded += 1
                status.reading.lastSaveTime = Date().timeIntervalSince1970
                status.reading.fileBytes = bytes.count
                return (nil, previous != nil)
            }
            status.reading.savesFailed += 1
            return (failure == previous ? nil : failure, false)
        }
        if let logFailure {
            logger.error("cannot save state in \(directory): \(logFailure); make the directory writable by the agent (planet_state_saves_total{result=\"error\"} counts failures)")
        }
        if recovered { logger.info("state saved again", metadata: ["path": "\(path)"]) }
    }

    func run() async throws {
        try await runPeriodically(every: interval) { [self] in save() }
        save()
    }
}
