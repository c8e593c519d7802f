import Capture
import Diagnostics
import Exposition
import Foundation
import PlanetMetrics
import Synchronization

/// The bounds of captures on demand (-web.capture-* flags).
public struct CaptureOnDemandSettings: Sendable, Equatable {
    /// -web.capture-max-seconds: the longest capture.
    public var maxSeconds = 60
    /// -web.capture-max-bytes: the largest file.
    public var maxBytes = 64 << 20
    /// Captures at once; the next one gets 429.
    public var maxConcurrent = 2
    /// Bytes of each packet kept when the request does not say.
    public static let defaultSnapLength: Int32 = 256
    /// Seconds captured when the request does not say (at most `maxSeconds`).
    public static let defaultSeconds = 10
    /// The smallest max_bytes a request may ask for: headers, a few packets and the statistics.
    public static let minBytes = 4096

    public init() {}
}

/// What the capture endpoint needs from the agent: the interfaces it captures on, how to
/// name the host and the packets, and whether the web config in force asks who the
/// client is (packets carry payloads: captures are served only then).
public struct CaptureOnDemandSources: Sendable {
    public var settings: CaptureOnDemandSettings
    /// The agent's own capture interfaces now; a capture may use only these.
    public var interfaces: @Sendable () -> [String]
    /// The Section Header Block's host, hostgroup and application.
    public var section: @Sendable () -> PcapngWriter.Section
    /// Makes the packets' comments from what the agent knows now.
    public var annotator: @Sendable () -> PacketAnnotator
    /// True while the web config requires basic auth or verified client certificates.
    public var authenticates: @Sendable () -> Bool
    /// Writes one line to the log.
    public var log: @Sendable (String) -> Void

    public init(settings: CaptureOnDemandSettings, interfaces: @escaping @Sendable () -> [String],
                section: @escaping @Sendable () -> PcapngWriter.Section, annotator: @escaping @Sendable () -> PacketAnnotator,
                authenticates: @escaping @Sendable () -> Bool, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.interfaces = interfaces
        self.section = section
        self.annotator = annotator
        self.authenticates = authenticates
        self.log = log
    }
}

/// Captures running now and captures done, for the concurrency bound and the self metrics.
public final class CaptureOnDemandCounters: Sendable {
    /// How a capture request ended: served whole (`completed`, or cut at `max_bytes`), ended
    /// by the client (`disconnected`), refused (`busy`, `invalid`, `unauthenticated`) or
    /// failed (an interface could not be opened or read).
    public enum Result: String, CaseIterable, Sendable {
        case completed
        case maxBytes = "max_bytes"
        case disconnected
        case failed
        case busy
        case invalid
        case unauthenticated
    }

    private struct State {
        var running = 0
        var results: [Result: UInt64] = [:]
        var bytes: UInt64 = 0
    }

    private let state = Mutex(State())
    let maxConcurrent: Int

    public init(maxConcurrent: Int) { self.maxConcurrent = maxConcurrent }

    /// Takes a slot for a capture; false when `maxConcurrent` run already.
    func begin() -> Bool {
        state.withLock { state in
            guard state.running < maxConcurrent else { return false }
            state.running += 1
            return true
        }
    }

    /// Gives back a slot taken by `begin`, counting the capture's result and bytes.
    func end(_ result: Result, bytes: Int) {
        state.withLock { state in
            state.running -= 1
            state.results[result, default: 0] += 1
            state.bytes += UInt64(bytes)
        }
    }

    /// Counts a request refused before any capture started.
    func refuse(_ result: Result) {
        state.withLock { $0.results[result, default: 0] += 1 }
    }

    /// Captures running now.
    public var running: Int { state.withLock { $0.running } }

    /// Writes planet_web_captures_total{result} and planet_web_capture_bytes_total.
    func render(into writer: inout ExpositionWriter) {
        let (results, bytes) = state.withLock { ($0.results, $0.bytes) }
        writer.family("planet_web_captures_total", help: "Captures asked for at /api/v1/capture, by result", kind: .counter)
        for result in Result.allCases {
            writer.sample("planet_web_captures_total", labels: [("result", result.rawValue)], results[result] ?? 0)
        }
        writer.family("planet_web_capture_bytes_total", help: "Bytes of pcapng sent by /api/v1/capture", kind: .counter)
        writer.sample("planet_web_capture_bytes_total", [:], bytes)
    }
}

/// planet_web_captures_total and planet_web_capture_bytes_total, when captures are enabled.
public struct CaptureOnDemandCollector: MetricsCollector {
    public let name = "web_capture"
    let counters: CaptureOnDemandCounters

    public init(counters: CaptureOnDemandCounters) { self.counters = counters }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        counters.render(into: &writer)
        return true
    }
}

/// The parameters of GET /api/v1/capture, checked against the bounds.
enum CaptureQuery {
    /// The longest filter expression taken.
    static let maxFilterBytes = 4096

    static func parse(_ parameters: [(key: String, value: String)], settings: CaptureOnDemandSettings,
                      interfaces: [String]) -> Result<OnDemandCaptureRequest, QueryError> {
        var request = OnDemandCaptureRequest(interfaces: interfaces, filter: "", snapLength: CaptureOnDemandSettings.defaultSnapLength,
                                             maxBytes: settings.maxBytes,
                                             duration: .seconds(min(CaptureOnDemandSettings.defaultSeconds, settings.maxSeconds)))
        for (key, value) in parameters {
            switch key {
            case "filter":
                guard value.utf8.count <= maxFilterBytes else {
                    return .failure(QueryError(message: "filter is \(value.utf8.count) bytes long; at most \(maxFilterBytes) are taken"))
                }
                request.filter = value
            case "seconds":
                guard let seconds = Int(value), (1...settings.maxSeconds).contains(seconds) else {
                    return .failure(QueryError(message: "seconds=\(quoted(value)): expected 1 to \(settings.maxSeconds) (-web.capture-max-seconds)"))
                }
                request.duration = .seconds(seconds)
            case "snaplen":
                guard let snapLength = Int32(value), (1...65535).contains(snapLength) else {
                    return .failure(QueryError(message: "snaplen=\(quoted(value)): expected 1 to 65535"))
                }
                request.snapLength = snapLength
            case "max_bytes":
                guard let bytes = Int(value), (CaptureOnDemandSettings.minBytes...settings.maxBytes).contains(bytes) else {
                    return .failure(QueryError(message: "max_bytes=\(quoted(value)): expected \(CaptureOnDemandSettings.minBytes) to \(settings.maxBytes) (-web.capture-max-bytes)"))
                }
                request.maxBytes = bytes
            case "interface":
                guard interfaces.contains(value) else {
                    return .failure(QueryError(message: "interface=\(quoted(value)): not one this agent captures on (\(interfaces.joined(separator: ", ")))"))
                }
                request.interfaces = [value]
            default:
                return .failure(QueryError(message: "unknown parameter \(quoted(key)); this endpoint takes filter, seconds, snaplen, max_bytes and interface"))
            }
        }
        return .success(request)
    }

    /// The parameters of a raw query string as a form encodes them (HTML forms, URLSearchParams,
    /// curl --data-urlencode): "+" is a space, as a filter has many; "%2B" is a plus.
    static func formParameters(_ query: String) -> [(key: String, value: String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// The download's file name: the host (letters, digits, '-', '.' and '_' kept) and the
    /// capture's start time in UTC, e.g. web-1-20261206T080000Z.pcapng.
    static func fileName(host: String, time: Date) -> String {
        let safe = String(host.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-._".unicodeScalars.contains(scalar)) ? Character(scalar) : "_"
        })
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: time)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        let stamp = "\(parts.year ?? 1970)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))\(two(parts.second))Z"
        return "\(safe.isEmpty ? "host" : safe)-\(stamp).pcapng"
    }
}
