import ArgumentParser
import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Logging for both executables: one line per event on stderr, in logrus's text format
/// so that log pipelines built for the Go original keep parsing it.
public enum LogSetup {
    /// Parses a logrus level name (case-insensitive); fatal and panic map to critical.
    public static func parseLevel(_ text: String) throws -> Logger.Level {
        switch text.lowercased() {
        case "trace": return .trace
        case "debug": return .debug
        case "info": return .info
        case "warn", "warning": return .warning
        case "error": return .error
        case "fatal", "panic": return .critical
        default: throw FlagError.invalidLogLevel(text)
        }
    }

    /// Installs the stderr handler for the whole process; call once, before any logging.
    /// Colors are used only when stderr is a terminal and `disableColors` is false.
    public static func bootstrap(level: String, disableColors: Bool, disableTimestamp: Bool) throws {
        let parsed = try parseLevel(level)
        let format = LogrusTextFormat(
            colors: !disableColors && isatty(STDERR_FILENO) == 1,
            timestamps: !disableTimestamp
        )
        LoggingSystem.bootstrap { label in
            var handler = LogrusLogHandler(format: format, write: LogrusLogHandler.writeToStandardError)
            handler.logLevel = parsed
            return handler
        }
    }
}

/// Renders one log event as a logrus `TextFormatter` line (with the trailing newline).
public struct LogrusTextFormat: Sendable {
    /// Whether to emit logrus's colored terminal layout instead of key=value pairs.
    public var colors: Bool
    /// Whether to include the time (plain layout) or elapsed seconds (colored layout).
    public var timestamps: Bool

    /// A format with the given switches.
    public init(colors: Bool, timestamps: Bool) {
        self.colors = colors
        self.timestamps = timestamps
    }

    /// The logrus level name for a swift-log level.
    public static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info, .notice: return "info"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "fatal"
        }
    }

    /// Formats an event. `time` is the RFC 3339 wall-clock time, `elapsedSeconds` the time
    /// since the process started (the colored layout shows that instead, as logrus does).
    public func format(
        level: Logger.Level,
        message: String,
        metadata: Logger.Metadata,
        time: String,
        elapsedSeconds: Int
    ) -> String {
        let keys = metadata.keys.sorted()
        let name = Self.levelName(level)
        var line = ""
        if colors {
            let color: Int
            switch level {
            case .trace, .debug: color = 37
            case .warning: color = 33
            case .error, .critical: color = 31
            case .info, .notice: color = 36
            }
            let short = String(name.uppercased().prefix(4))
            line += "\u{1B}[\(color)m\(short)\u{1B}[0m"
            if timestamps {
                let seconds = String(elapsedSeconds)
                line += "[" + String(repeating: "0", count: max(0, 4 - seconds.count)) + seconds + "]"
            }
            line += " " + message
            // logrus pads the message so that fields line up in a terminal.
            if !keys.isEmpty && message.count < 44 {
                line += String(repeating: " ", count: 44 - message.count)
            }
            for key in keys {
                line += " \u{1B}[\(color)m\(key)\u{1B}[0m=" + Self.quoteIfNeeded(Self.render(metadata[key]!))
            }
        } else {
            if timestamps { line += "time=" + Self.quoteIfNeeded(time) + " " }
            line += "level=" + name + " msg=" + Self.quoteIfNeeded(message)
            for key in keys {
                line += " " + key + "=" + Self.quoteIfNeeded(Self.render(metadata[key]!))
            }
        }
        line += "\n"
        return line
    }

    private static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array, .dictionary: return value.description
        }
    }

    /// Quotes like logrus: bare when every character is a letter, digit or one of -._/@^+.
    static func quoteIfNeeded(_ text: String) -> String {
        let bare = !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "/", "@", "^", "+": return true
            default: return false
            }
        }
        return bare ? text : quoted(text, limit: nil)
    }
}

/// A swift-log handler that writes ``LogrusTextFormat`` lines through `write`.
public struct LogrusLogHandler: LogHandler {
    /// Where a finished line goes.
    public typealias Writer = @Sendable (String) -> Void

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let format: LogrusTextFormat
    private let write: Writer

    /// A handler formatting with `format` and sending each line to `write`.
    public init(format: LogrusTextFormat, write: @escaping Writer) {
        self.format = format
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        if let error = event.error { merged["error"] = "\(error)" }
        write(format.format(
            level: event.level, message: event.message.description, metadata: merged,
            time: Self.now(), elapsedSeconds: Self.elapsedSeconds()
        ))
    }

    /// Writes a line with one write(2) so lines from concurrent tasks never interleave.
    public static let writeToStandardError: Writer = { line in
        var line = line
        // Nothing is left to report a failed write of the log itself to.
        line.withUTF8 { bytes in try? writeAll(STDERR_FILENO, UnsafeRawBufferPointer(bytes)) }
    }

    private static let start = monotonicSeconds()

    private static func monotonicSeconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return spec.tv_sec
    }

    private static func elapsedSeconds() -> Int { monotonicSeconds() - start }

    /// The local time in RFC 3339, as Go's time.RFC3339 prints it.
    private static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 40)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        var text = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // strftime writes +0000; RFC 3339 wants Z or +00:00.
        if text.hasSuffix("+0000") {
            text.removeLast(5)
            text += "Z"
        } else if text.count >= 5 {
            text.insert(":", at: text.index(text.endIndex, offsetBy: -2))
        }
        return text
    }
}

/// The Go original's three log flags, shared by both executables as an option group.
public struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "Log level: trace, debug, info, warn, error, fatal, panic.")
    public var logLevel = "info"

    @Flag(name: .customLong("log-disable-colors"), inversion: .prefixedNo, help: "Disable colors on logger.")
    public var logDisableColors = false

    @Flag(name: .customLong("log-disable-timestamp"), inversion: .prefixedNo, help: "Disable timestamp on logger.")
    public var logDisableTimestamp = false

    public init() {}

    public func validate() throws {
        do { _ = try LogSetup.parseLevel(logLevel) } catch { throw ValidationError("-log-level: \(error)") }
    }

    /// Installs the logging handler these options describe.
    public func bootstrap() throws {
        try LogSetup.bootstrap(level: logLevel, disableColors: logDisableColors, disableTimestamp: logDisableTimestamp)
    }
}
