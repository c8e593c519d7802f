import Foundation

/// One series of a range query result: its labels and its samples in time order.
public struct PrometheusSeries: Sendable, Equatable {
    /// The series' labels after aggregation.
    public var labels: [String: String]
    /// Samples as (milliseconds since the epoch, value).
    public var samples: [PrometheusSample]

    /// A series with the given labels and samples.
    public init(labels: [String: String], samples: [PrometheusSample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// One evaluated value of a range query.
public struct PrometheusSample: Sendable, Equatable {
    /// Evaluation time in milliseconds since the epoch (Prometheus's resolution).
    public var timestampMilliseconds: Int64
    /// The value; NaN and infinities are kept here and dropped when mapping to points.
    public var value: Double

    /// The times whose nanoseconds an Int64 holds (what InfluxDB's line protocol writes).
    public static let storableMilliseconds = (Int64.min / 1_000_000)...(Int64.max / 1_000_000)

    /// The time in nanoseconds; nil outside ``storableMilliseconds``.
    public var timestampNanoseconds: Int64? {
        let (nanoseconds, overflow) = timestampMilliseconds.multipliedReportingOverflow(by: 1_000_000)
        return overflow ? nil : nanoseconds
    }

    /// A sample at `timestampMilliseconds` with `value`.
    public init(timestampMilliseconds: Int64, value: Double) {
        self.timestampMilliseconds = timestampMilliseconds
        self.value = value
    }
}

/// Decodes `/api/v1/query_range` responses.
public enum PrometheusMatrix {
    /// Parses a whole response body; throws ``FederatorError`` for an error status, a result
    /// that is not a matrix, or a body that is not the API's JSON.
    public static func parse(_ body: Data) throws -> [PrometheusSeries] {
        var reader = MatrixStreamReader()
        var series: [PrometheusSeries] = []
        try reader.feed(body) { series.append($0) }
        try reader.finish()
        return series
    }
}

/// Reads a `query_range` response as it arrives and hands over each series as soon as its
/// JSON is complete, so memory holds one series at a time, never the whole answer.
///
/// Only the envelope's structure is followed byte by byte (strings, nesting, keys at the
/// top two levels); each element of `data.result` is captured and decoded on its own.
public struct MatrixStreamReader {
    /// A single series' JSON larger than this is refused rather than buffered.
    public static let maxSeriesBytes = 64 << 20

    private enum Container { case object, array }
    private struct Frame {
        var container: Container
        /// Object: the key of the value being read; array: unused.
        var key: String = ""
        /// Object: true between `{`/`,` and the next `:`.
        var expectingKey: Bool
    }

    private var stack: [Frame] = []
    private var inString = false
    private var escaped = false
    private var keyBytes: [UInt8] = []
    private var readingKey = false
    private var started = false
    private var finished = false
    private var invalid = false
    private var prefix: [UInt8] = []

    /// Bytes of the value being captured, and the stack depth it started at.
    private var capture: [UInt8] = []
    private var captureDepth: Int?
    private var captureTarget: CaptureTarget?
    private enum CaptureTarget { case status, errorType, error, resultType, series }

    private var status: String?
    private var errorType: String?
    private var errorText: String?
    private var resultType: String?
    private var seriesCount = 0

    /// A reader at the start of a response.
    public init() {}

    /// Consumes the next bytes of the body, calling `emit` for each completed series.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes, emit: (PrometheusSeries) throws -> Void) throws where Bytes.Element == UInt8 {
        for byte in bytes {
            try consume(byte, emit: emit)
        }
    }

    /// Checks that the body ended as a complete, successful matrix answer.
    public func finish() throws {
        if invalid { throw notAPI() }
        if let status, status != "success" {
            throw FederatorError(description: "query failed: \(errorType ?? "error"): \(errorText ?? "no detail")")
        }
        guard started, finished, status == "success" else {
            throw notAPI()
        }
        guard resultType == "matrix" else {
            throw FederatorError(description: "expected a matrix result, got \(resultType ?? "no data")")
        }
    }

    private func notAPI() -> FederatorError {
        FederatorError(description: "response is not Prometheus API JSON: \(String(decoding: prefix, as: UTF8.self))")
    }

    private mutating func consume(_ byte: UInt8, emit: (PrometheusSeries) throws -> Void) throws {
        if prefix.count < 120 { prefix.append(byte) }
        // Not the API's JSON: read on a little so the error can quote the body's start.
        if invalid {
            if prefix.count >= 120 { throw notAPI() }
            return
        }
        if finished {
            if !isSpace(byte) { invalid = true }
            return
        }
        if captureDepth != nil {
            capture.append(byte)
            guard capture.count <= Self.maxSeriesBytes else {
                throw FederatorError(description: "a series in the Prometheus answer is larger than \(Self.maxSeriesBytes >> 20) MiB")
            }
        }
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
                if readingKey {
                    readingKey = false
                    stack[stack.count - 1].key = String(decoding: keyBytes, as: UTF8.self)
                    keyBytes.removeAll(keepingCapacity: true)
                    return
                }
                if captureDepth == stack.count { try endCapture(emit: emit) }
                return
            }
            if readingKey {
                guard keyBytes.count < 1024 else { invalid = true; return }
                keyBytes.append(byte)
            }
            return
        }
        if isSpace(byte) { return }
        guard started || byte == UInt8(ascii: "{") else { invalid = true; return }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
            if let top = stack.last, top.container == .object, top.expectingKey {
                // Keys are needed only where the envelope is followed, not inside captures.
                readingKey = captureDepth == nil
            } else {
                beginValue(byte)
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if started { beginValue(byte) } else { started = true }
            stack.append(Frame(container: byte == UInt8(ascii: "{") ? .object : .array, expectingKey: byte == UInt8(ascii: "{")))
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            // A number or literal ends at the bracket that closes its container.
            if captureDepth == stack.count { try endCapture(emit: emit) }
            guard let top = stack.popLast(), top.container == (byte == UInt8(ascii: "}") ? .object : .array) else { invalid = true; return }
            if stack.isEmpty {
                finished = true
            } else if captureDepth == stack.count {
                try endCapture(emit: emit)
            }
        case UInt8(ascii: ":"):
            guard let top = stack.last, top.container == .object, top.expectingKey else { invalid = true; return }
            stack[stack.count - 1].expectingKey = false
        case UInt8(ascii: ","):
            guard let top = stack.last else { invalid = true; return }
            if captureDepth == stack.count { try endCapture(emit: emit) }
            if top.container == .object { stack[stack.count - 1].expectingKey = true }
        default:
            // A number or literal: a value of its own, ended by the next delimiter.
            if let top = stack.last, top.container == .object, top.expectingKey { invalid = true; return }
            if captureDepth == nil { beginValue(byte) }
        }
    }

    /// Starts capturing when the value beginning with `byte` is one the reader needs.
    private mutating func beginValue(_ byte: UInt8) {
        guard captureDepth == nil else { return }
        let target: CaptureTarget?
        switch stack.count {
        case 1:
            switch stack[0].key {
            case "status": target = .status
            case "errorType": target = .errorType
            case "error": target = .error
            default: target = nil
            }
        case 2 where stack[0].key == "data" && stack[1].container == .object && stack[1].key == "resultType":
            target = .resultType
        case 3 where stack[0].key == "data" && stack[1].key == "result" && stack[2].container == .array:
            target = .series
        default:
            target = nil
        }
        guard let target else { return }
        captureTarget = target
        captureDepth = stack.count
        capture = [byte]
    }

    private mutating func endCapture(emit: (PrometheusSeries) throws -> Void) throws {
        defer {
            captureDepth = nil
            captureTarget = nil
            capture.removeAll(keepingCapacity: capture.count <= 1 << 20)
        }
        // A scalar ended by a delimiter carries that delimiter: drop it.
        if let last = capture.last, last == UInt8(ascii: ",") || last == UInt8(ascii: "}") || last == UInt8(ascii: "]"),
           capture.first != UInt8(ascii: "{"), capture.first != UInt8(ascii: "[") {
            capture.removeLast()
        }
        switch captureTarget {
        case .status: status = decodeString()
        case .errorType: errorType = decodeString()
        case .error: errorText = decodeString()
        case .resultType: resultType = decodeString()
        case .series:
            guard resultType == "matrix" else {
                throw FederatorError(description: "expected a matrix result, got \(resultType ?? "no resultType before the result")")
            }
            seriesCount += 1
            try emit(try Self.decodeSeries(capture))
        case nil: break
        }
    }

    private func decodeString() -> String? {
        try? JSONDecoder().decode(String.self, from: Data(capture))
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }

    private struct Series: Decodable {
        var metric: [String: String]
        var values: [Sample]?
    }

    private struct Sample: Decodable {
        var time: Double
        var value: String

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            time = try container.decode(Double.self)
            value = try container.decode(String.self)
        }
    }

    static func decodeSeries(_ json: [UInt8]) throws -> PrometheusSeries {
        let series: Series
        do {
            series = try JSONDecoder().decode(Series.self, from: Data(json))
        } catch {
            let start = String(decoding: json.prefix(120), as: UTF8.self)
            throw FederatorError(description: "a series in the Prometheus answer is not {metric, values}: \(start)")
        }
        return try PrometheusSeries(labels: series.metric, samples: (series.values ?? []).map { sample in
            guard let value = Double(sample.value) else {
                throw FederatorError(description: "sample value \"\(sample.value)\" is not a number")
            }
            // A time no Int64 of milliseconds holds (1e300, found by the fuzzer) is refused, not trapped on.
            guard let milliseconds = Int64(exactly: (sample.time * 1000).rounded()) else {
                throw FederatorError(description: "sample time \(sample.time) is not a Unix time in seconds")
            }
            // Stores write nanoseconds in an Int64: years 1677 to 2262.
            guard PrometheusSample.storableMilliseconds.contains(milliseconds) else {
                throw FederatorError(description: "sample time \(sample.time) is outside the years 1677 to 2262 that InfluxDB stores")
            }
            return PrometheusSample(timestampMilliseconds: milliseconds, value: value)
        })
    }
}
