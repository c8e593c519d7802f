import Dispatch
import Logging
import Synchronization

/// The web config in force, re-read when its file or a file it names changes, as
/// exporter-toolkit re-reads it: changed users, headers and certificates apply to the next
/// request or connection without a restart. The files are looked at (stat) at most once a
/// second, when a request or a new connection asks for the config, so an idle agent does
/// nothing. The look and the reload run on a thread of the global queue, never on the
/// event loop that asked: the request is served at once with the config in force, and the
/// new one applies when it has loaded (a TLS context built from new certificates, say).
/// A change that does not load keeps the last good config and is logged once; so does a
/// change that would leave the server without authentication when the file does not say
/// so on purpose (``WebConfig/authenticationRemoved(from:)``).
public final class WebConfigReloader: Sendable {
    /// The file, as given on the command line.
    public let path: String
    private let parseDuration: @Sendable (String) -> Duration?
    private let logger: Logger
    private let checkEvery: Duration
    private let state: Mutex<State>
    /// Held for a whole look and reload, so two never run at once; never by `current()`.
    private let loading = Mutex(())

    private struct State {
        var loaded: LoadedWebConfig
        /// The stamps of the last attempt, good or bad, so a broken file is read once.
        var attempted: [FileStamp]
        var lastCheck: ContinuousClock.Instant
        var reloads = ReloadCounters()
        /// A look at the files is under way on the global queue.
        var looking = false
    }

    /// Outcomes of reloads since start, for the self metrics.
    public struct ReloadCounters: Sendable, Equatable {
        public var succeeded = 0
        public var failed = 0
        /// Whether the last attempt loaded.
        public var lastSucceeded = true
    }

    /// Loads `path` now; throws a one-line error naming the file and the key at fault.
    public init(path: String, checkEvery: Duration = .seconds(1), parseDuration: @escaping @Sendable (String) -> Duration?,
                logger: Logger) throws(WebConfigFileError) {
        self.path = path
        self.parseDuration = parseDuration
        self.logger = logger
        self.checkEvery = checkEvery
        let loaded: LoadedWebConfig
        do {
            loaded = try WebConfigLoader.load(path: path, parseDuration: parseDuration)
        } catch {
            throw WebConfigFileError(path: path, error: error)
        }
        state = Mutex(State(loaded: loaded, attempted: loaded.stamps, lastCheck: ContinuousClock.now))
    }

    /// The config to serve with now. When a second has passed since the last look, a look
    /// at the files starts on the global queue; this call does not wait for it.
    public func current() -> LoadedWebConfig {
        let now = ContinuousClock.now
        let (loaded, look) = state.withLock { state -> (LoadedWebConfig, Bool) in
            guard !state.looking, now - state.lastCheck >= checkEvery else { return (state.loaded, false) }
            state.lastCheck = now
            state.looking = true
            return (state.loaded, true)
        }
        if look {
            DispatchQueue.global(qos: .utility).async { [self] in
                reloadIfChanged()
                state.withLock { $0.looking = false }
            }
        }
        return loaded
    }

    /// Looks at the files now, on the calling thread, whatever the time since the last
    /// look (after one under way ends); true when a new config is in force.
    @discardableResult
    public func checkNow() -> Bool {
        state.withLock { $0.lastCheck = ContinuousClock.now }
        return reloadIfChanged()
    }

    /// Reload outcomes since start.
    public var counters: ReloadCounters { state.withLock { $0.reloads } }

    /// Reads the files outside the state's lock (requests go on being served with the
    /// config in force), then puts the outcome in force under it.
    @discardableResult
    private func reloadIfChanged() -> Bool {
        loading.withLock { _ in
            let attempted = state.withLock { $0.attempted }
            let now = attempted.map { FileStamp(path: $0.path) }
            guard now != attempted else { return false }
            let next: Result<LoadedWebConfig, WebConfigError>
            do throws(WebConfigError) {
                next = .success(try WebConfigLoader.load(path: path, parseDuration: parseDuration))
            } catch {
                next = .failure(error)
            }
            return state.withLock { state in apply(next, stampsSeen: now, to: &state) }
        }
    }

    private func apply(_ result: Result<LoadedWebConfig, WebConfigError>, stampsSeen: [FileStamp], to state: inout State) -> Bool {
        guard case .success(var next) = result else {
            if case .failure(let error) = result {
                state.attempted = stampsSeen
                state.reloads.failed += 1
                state.reloads.lastSucceeded = false
                logger.error("\(WebConfigFileError(path: path, error: error)); keeping the last good config")
            }
            return false
        }
        state.attempted = next.stamps
        // TLS is chosen at start, as in exporter-toolkit: a reload never changes the scheme.
        var schemeKept: String?
        switch (state.loaded.tls != nil, next.tls != nil) {
        case (true, false):
            schemeKept = "tls_server_config was removed; TLS stays on until a restart, with the last good certificate"
            next = LoadedWebConfig(config: withTLS(next.config, from: state.loaded.config), tls: state.loaded.tls, stamps: next.stamps)
        case (false, true):
            schemeKept = "tls_server_config was added; the agent serves plain HTTP until a restart"
            next = LoadedWebConfig(config: withTLS(next.config, from: state.loaded.config), tls: nil, stamps: next.stamps)
        default:
            break
        }
        // A file seen half-written (emptied by `cat > web.yml`) must not open the server.
        if let removed = next.config.authenticationRemoved(from: state.loaded.config) {
            state.reloads.failed += 1
            state.reloads.lastSucceeded = false
            logger.error("web config \(path): refused: it would switch authentication off on a running server: \(removed); keeping the last good config")
            return false
        }
        if let schemeKept { logger.error("web config \(path): \(schemeKept)") }
        state.loaded = next
        state.reloads.succeeded += 1
        state.reloads.lastSucceeded = true
        logger.info("web config \(path) reloaded", metadata: [
            "tls": "\(next.tls != nil)", "users": "\(next.config.users.count)",
        ])
        return true
    }

    private func withTLS(_ config: WebConfig, from previous: WebConfig) -> WebConfig {
        var config = config
        config.tls = previous.tls
        return config
    }
}

/// A web config file that cannot be used: `web config /etc/planet-exporter/web.yml:
/// basic_auth_users.alice: not a bcrypt hash; ...`.
public struct WebConfigFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let error: WebConfigError

    public var description: String { "web config \(path): \(error)" }
}
