import Diagnostics

/// One sample read from a Prometheus text exposition.
public struct ParsedSample: Sendable, Equatable, CustomStringConvertible {
    /// The metric name as written (`host_bytes_total`).
    public var name: String
    /// Labels in the order the exposition wrote them, values unescaped.
    public var labels: [(String, String)]
    /// The sample value; `NaN`, `+Inf` and `-Inf` come through as Double's own.
    public var value: Double
    /// The optional timestamp, milliseconds since the Unix epoch.
    public var timestampMilliseconds: Int64?
    /// The 1-based line the sample was read from, for error messages.
    public var line: Int

    /// A sample as read from `line`.
    public init(name: String, labels: [(String, String)], value: Double, timestampMilliseconds: Int64? = nil, line: Int) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
        self.line = line
    }

    /// The value of the label called `name`, or nil when the sample has none.
    public func label(_ name: String) -> String? {
        for (key, value) in labels where key == name { return value }
        return nil
    }

    /// NaN never equals itself, so two NaN samples compare equal here on purpose:
    /// tests and callers compare what was read, not arithmetic.
    public static func == (lhs: ParsedSample, rhs: ParsedSample) -> Bool {
        lhs.name == rhs.name
            && lhs.labels.count == rhs.labels.count
            && zip(lhs.labels, rhs.labels).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            && (lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN))
            && lhs.timestampMilliseconds == rhs.timestampMilliseconds
            && lhs.line == rhs.line
    }

    /// The sample in exposition form, for logs and test failures.
    public var description: String {
        let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",") + "}"
        let stamp = timestampMilliseconds.map { " \($0)" } ?? ""
        return "\(name)\(rendered) \(ExpositionWriter.format(value))\(stamp)"
    }
}

/// A line of an exposition that could not be read or used, and why.
public struct ExpositionProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line number.
    public var line: Int
    /// What was wrong, in a few words.
    public var reason: String

    /// A problem on `line`.
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    /// `line N: reason`.
    public var description: String { "line \(line): \(reason)" }
}

/// Everything read from one exposition: the samples, and the lines that were skipped.
public struct ExpositionParseResult: Sendable {
    /// Samples in the order they appeared.
    public var samples: [ParsedSample] = []
    /// The first `ExpositionParser.maxRecordedProblems` problems, in line order.
    public var problems: [ExpositionProblem] = []
    /// How many lines were skipped as malformed (may exceed `problems.count`).
    public var problemCount = 0
    /// Lines in the input, blank and comment lines included.
    public var lineCount = 0
    /// Family types declared by `# TYPE` lines.
    public var declaredTypes: [String: String] = [:]
    /// Families named by a `# HELP` or `# TYPE` line, with or without samples.
    public var declaredFamilies: Set<String> = []

    /// An empty result, filled in by the parser.
    public init() {}

    /// True when the exposition declared or sampled `family`: an exporter that has
    /// seen nothing yet still writes the family's header.
    public func mentions(_ family: String) -> Bool {
        declaredFamilies.contains(family) || samples.contains { $0.name == family }
    }

    /// One line saying how much of the input was unreadable, with the first reason;
    /// nil when every line was read.
    public var problemSummary: String? {
        guard problemCount > 0, let first = problems.first else { return nil }
        return "\(problemCount) of \(lineCount) lines malformed, first \(first)"
    }
}

/// Reads the Prometheus text exposition format (version 0.0.4) into samples.
///
/// A scraped target is someone else's program, so nothing it writes is fatal: a line
/// that cannot be read is skipped and reported with its number, and reading goes on.
/// Accepted: `# HELP`/`# TYPE`/other comments, blank lines, CRLF line ends, spaces or
/// tabs between tokens, `{}` and a trailing comma in label sets, the `\\`, `\"` and
/// `\n` escapes, optional timestamps, `NaN`, `+Inf`, `-Inf` and exponent floats.
public enum ExpositionParser {
    /// At most this many problems are kept with their reasons; the rest are only counted,
    /// so an HTML page or a binary blob cannot make the report grow without bound.
    public static let maxRecordedProblems = 100

    /// Family types the format defines; others are reported.
    static let knownTypes: Set<String> = ["counter", "gauge", "histogram", "summary", "untyped"]

    /// Parses an exposition held as bytes.
    public static func parse(_ bytes: [UInt8]) -> ExpositionParseResult {
        bytes.withUnsafeBufferPointer { parse(buffer: $0) }
    }

    /// Parses an exposition held as a String.
    public static func parse(_ text: String) -> ExpositionParseResult {
        var text = text
        return text.withUTF8 { parse(buffer: $0) }
    }

    /// Parses an exposition in a buffer of UTF-8 bytes.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>) -> ExpositionParseResult {
        var samples: [ParsedSample] = []
        var result = parse(buffer: buffer) { samples.append($0) }
        result.samples = samples
        return result
    }

    /// Parses an exposition in a buffer of UTF-8 bytes, handing each sample to `sample`
    /// as it is read instead of keeping it, so that memory stays at one sample however
    /// large the input; the result's `samples` is empty.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>, sample: (ParsedSample) -> Void) -> ExpositionParseResult {
        var result = ExpositionParseResult()
        var scratch: [UInt8] = []
        var cache = TokenCache()
        var lineNumber = 0
        var start = 0
        let count = buffer.count
        while start < count {
            lineNumber += 1
            var end = start
            while end < count && buffer[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            var reader = LineReader(input: buffer, start: start, end: lineEnd, number: lineNumber)
            do {
                if let read = try reader.readLine(into: &result, scratch: &scratch, cache: &cache) { sample(read) }
            } catch {
                result.problemCount += 1
                if result.problems.count < maxRecordedProblems {
                    result.problems.append(ExpositionProblem(line: lineNumber, reason: error.reason))
                }
            }
            start = end + 1
        }
        result.lineCount = lineNumber
        return result
    }
}

/// Why a line was skipped; thrown inside a line and turned into an ExpositionProblem.
struct LineError: Error {
    let reason: String
}

/// Strings made for the previous sample, by slot (name, i-th label name, i-th label value).
///
/// Consecutive samples of a family repeat their name, their label names and often
/// values (`saddr`, `lport`, `interface`); reusing the String when the bytes match
/// skips most allocations in a large exposition.
struct TokenCache {
    var name: (range: Range<Int>, text: String) = (0..<0, "")
    var keys: [(range: Range<Int>, text: String)] = []
    var values: [(range: Range<Int>, text: String)] = []
    var labelCount = 1
}

/// Reads one line of `input` (`start..<end`); `position` walks forward and never backs up.
private struct LineReader {
    let line: UnsafeBufferPointer<UInt8>
    let end: Int
    let number: Int
    var position: Int

    init(input: UnsafeBufferPointer<UInt8>, start: Int, end: Int, number: Int) {
        self.line = input
        self.end = end
        self.number = number
        self.position = start
    }

    private var atEnd: Bool { position >= end }
    private var current: UInt8 { line[position] }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private static func isNameStart(_ byte: UInt8, colon: Bool) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F
            || (colon && byte == 0x3A)
    }

    private static func isNameContinue(_ byte: UInt8, colon: Bool) -> Bool {
        isNameStart(byte, colon: colon) || (byte >= 0x30 && byte <= 0x39)
    }

    private mutating func skipBlanks() {
        while !atEnd && Self.isBlank(current) { position += 1 }
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: line[range]), as: UTF8.self)
    }

    /// The String for `range`, reusing the slot's when the previous sample had the same bytes there.
    private func text(_ range: Range<Int>, reusing slot: inout (range: Range<Int>, text: String)) -> String {
        if slot.range.count == range.count {
            let offset = slot.range.lowerBound - range.lowerBound
            var index = range.lowerBound
            while index < range.upperBound && line[index] == line[index + offset] { index += 1 }
            if index == range.upperBound {
                slot.range = range
                return slot.text
            }
        }
        slot = (range, text(range))
        return slot.text
    }

    /// The input from `range` quoted for an error message; only a bounded prefix is
    /// decoded, so a megabyte-long garbage line costs no more than a short one.
    private func excerpt(_ range: Range<Int>) -> String {
        let clipped = range.lowerBound..<min(range.upperBound, range.lowerBound + 256)
        let excerpt = quoted(text(clipped))
        return clipped.count < range.count && !excerpt.hasSuffix("...") ? excerpt + "..." : excerpt
    }

    /// Reads the line: a comment goes into `result`, a sample is returned.
    mutating func readLine(into result: inout ExpositionParseResult, scratch: inout [UInt8],
                           cache: inout TokenCache) throws(LineError) -> ParsedSample? {
        skipBlanks()
        if atEnd { return nil }
        if current == UInt8(ascii: "#") {
            try readComment(into: &result)
            return nil
        }
        return try readSample(scratch: &scratch, cache: &cache)
    }

    /// Reads a name of the metric-name (`colon: true`) or label-name alphabet.
    private mutating func readName(colon: Bool, what: String) throws(LineError) -> String {
        text(try readNameRange(colon: colon, what: what))
    }

    private mutating func readNameRange(colon: Bool, what: String) throws(LineError) -> Range<Int> {
        let begin = position
        guard !atEnd, Self.isNameStart(current, colon: colon) else {
            if atEnd { throw LineError(reason: "expected a \(what), found end of line") }
            throw LineError(reason: "expected a \(what) at \(excerpt(position..<end))")
        }
        position += 1
        while !atEnd && Self.isNameContinue(current, colon: colon) { position += 1 }
        return begin..<position
    }

    private mutating func readComment(into result: inout ExpositionParseResult) throws(LineError) {
        position += 1
        skipBlanks()
        let keywordStart = position
        while !atEnd && !Self.isBlank(current) { position += 1 }
        let keyword = text(keywordStart..<position)
        guard keyword == "HELP" || keyword == "TYPE" else { return }
        skipBlanks()
        let name = try readName(colon: true, what: "metric name after # \(keyword)")
        if keyword == "HELP" {
            // The docstring itself is not used; only that the family was declared.
            if !atEnd && !Self.isBlank(current) {
                throw LineError(reason: "expected a space after the metric name in # HELP")
            }
            result.declaredFamilies.insert(name)
            return
        }
        skipBlanks()
        let typeStart = position
        while !atEnd && !Self.isBlank(current) { position += 1 }
        let type = text(typeStart..<position)
        skipBlanks()
        guard atEnd else { throw LineError(reason: "unexpected text after the type in # TYPE \(name)") }
        guard ExpositionParser.knownTypes.contains(type) else {
            throw LineError(reason: "unknown metric type \(quoted(type)) for \(name)")
        }
        result.declaredFamilies.insert(name)
        result.declaredTypes[name] = type
    }

    private mutating func readSample(scratch: inout [UInt8], cache: inout TokenCache) throws(LineError) -> ParsedSample {
        let name = text(try readNameRange(colon: true, what: "metric name"), reusing: &cache.name)
        var labels: [(String, String)] = []
        let afterName = position
        skipBlanks()
        if !atEnd && current == UInt8(ascii: "{") {
            position += 1
            // Samples of a family share their label count: one allocation instead of regrowing.
            labels.reserveCapacity(cache.labelCount)
            try readLabels(into: &labels, scratch: &scratch, cache: &cache)
            cache.labelCount = labels.count
            skipBlanks()
        } else if position == afterName {
            if atEnd { throw LineError(reason: "metric \(name) has no value") }
            throw LineError(reason: "unexpected \(excerpt(position..<end)) after metric name \(name)")
        }
        let value = try readValue(name: name)
        skipBlanks()
        var timestamp: Int64?
        if !atEnd {
            timestamp = try readTimestamp(name: name)
            skipBlanks()
            guard atEnd else {
                throw LineError(reason: "unexpected \(excerpt(position..<end)) after the timestamp of \(name)")
            }
        }
        return ParsedSample(name: name, labels: labels, value: value, timestampMilliseconds: timestamp, line: number)
    }

    private mutating func readLabels(into labels: inout [(String, String)], scratch: inout [UInt8],
                                     cache: inout TokenCache) throws(LineError) {
        while true {
            skipBlanks()
            if atEnd { throw LineError(reason: "label set is missing its closing brace") }
            if current == UInt8(ascii: "}") {
                position += 1
                return
            }
            let slot = labels.count
            if cache.keys.count == slot {
                cache.keys.append((0..<0, ""))
                cache.values.append((0..<0, ""))
            }
            let key = text(try readNameRange(colon: false, what: "label name"), reusing: &cache.keys[slot])
            skipBlanks()
            guard !atEnd, current == UInt8(ascii: "=") else {
                throw LineError(reason: "expected '=' after label name \(key)")
            }
            position += 1
            skipBlanks()
            guard !atEnd, current == UInt8(ascii: "\"") else {
                throw LineError(reason: "label \(key) has no quoted value")
            }
            position += 1
            let value = try readQuoted(label: key, scratch: &scratch, slot: &cache.values[slot])
            for (existing, _) in labels where existing == key {
                throw LineError(reason: "label \(key) appears twice")
            }
            labels.append((key, value))
            skipBlanks()
            guard !atEnd else { throw LineError(reason: "label set is missing its closing brace") }
            if current == UInt8(ascii: ",") {
                position += 1
            } else if current != UInt8(ascii: "}") {
                throw LineError(reason: "expected ',' or '}' after label \(key)")
            }
        }
    }

    /// Reads a label value up to its closing quote; escapes are rare, so the common case
    /// makes the String straight from the input without copying into `scratch`.
    private mutating func readQuoted(label: String, scratch: inout [UInt8],
                                     slot: inout (range: Range<Int>, text: String)) throws(LineError) -> String {
        let begin = position
        var escaped = false
        while !atEnd && current != UInt8(ascii: "\"") {
            if current == UInt8(ascii: "\\") {
                escaped = true
                position += 1
            }
            position += 1
        }
        guard !atEnd else {
            throw LineError(reason: "value of label \(label) is missing its closing quote")
        }
        let close = position
        position += 1
        if !escaped { return text(begin..<close, reusing: &slot) }
        scratch.removeAll(keepingCapacity: true)
        var index = begin
        while index < close {
            let byte = line[index]
            if byte == UInt8(ascii: "\\") {
                let next = line[index + 1]
                switch next {
                case UInt8(ascii: "\\"): scratch.append(next)
                case UInt8(ascii: "\""): scratch.append(next)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                default:
                    let shown = (0x21...0x7E).contains(next) ? String(Unicode.Scalar(next)) : "x" + String(next, radix: 16)
                    throw LineError(reason: "invalid escape \"\\\(shown)\" in label \(label)")
                }
                index += 2
            } else {
                scratch.append(byte)
                index += 1
            }
        }
        return String(decoding: scratch, as: UTF8.self)
    }

    private mutating func readToken() -> Range<Int> {
        let begin = position
        while !atEnd && !Self.isBlank(current) { position += 1 }
        return begin..<position
    }

    private mutating func readValue(name: String) throws(LineError) -> Double {
        let range = readToken()
        if range.isEmpty { throw LineError(reason: "metric \(name) has no value") }
        if let value = fastDecimal(range) { return value }
        // Like Go's ParseFloat, which the exporters' own parsers use, this takes NaN,
        // Inf and Infinity in any case and with a sign, exponents and hex floats.
        guard let value = Double(text(range)) else {
            throw LineError(reason: "value \(excerpt(range)) of \(name) is not a number")
        }
        return value
    }

    /// Reads plain decimals (`2005`, `-0.25`, `1.26014316e+08`) without the general parser
    /// when the result is exact: at most 15 significant digits and a power of ten up to
    /// 10^22 are both exact doubles, so one multiply or divide rounds correctly. Anything
    /// else (NaN, Inf, long mantissas, hex) returns nil for the general parser.
    private func fastDecimal(_ range: Range<Int>) -> Double? {
        var index = range.lowerBound
        var negative = false
        if line[index] == UInt8(ascii: "-") || line[index] == UInt8(ascii: "+") {
            negative = line[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var exponent = 0
        var sawDot = false
        while index < range.upperBound {
            let byte = line[index]
            if byte >= 0x30 && byte <= 0x39 {
                mantissa = mantissa &* 10 &+ Int64(byte - 0x30)
                digits += 1
                if sawDot { exponent -= 1 }
            } else if byte == UInt8(ascii: "."), !sawDot {
                sawDot = true
            } else {
                break
            }
            index += 1
        }
        guard digits > 0, digits <= 15 else { return nil }
        if index < range.upperBound {
            guard line[index] == UInt8(ascii: "e") || line[index] == UInt8(ascii: "E") else { return nil }
            index += 1
            var exponentNegative = false
            if index < range.upperBound && (line[index] == UInt8(ascii: "-") || line[index] == UInt8(ascii: "+")) {
                exponentNegative = line[index] == UInt8(ascii: "-")
                index += 1
            }
            var written = 0
            let exponentStart = index
            while index < range.upperBound, line[index] >= 0x30, line[index] <= 0x39, index - exponentStart < 4 {
                written = written * 10 + Int(line[index] - 0x30)
                index += 1
            }
            guard index == range.upperBound, index > exponentStart else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard (-22...22).contains(exponent) else { return nil }
        var value = Double(mantissa)
        if exponent > 0 {
            value *= Self.powersOfTen[exponent]
        } else if exponent < 0 {
            value /= Self.powersOfTen[-exponent]
        }
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var power = 1.0
        for _ in 0..<exponent { power *= 10 }
        return power
    }

    private mutating func readTimestamp(name: String) throws(LineError) -> Int64 {
        let range = readToken()
        guard let stamp = Int64(text(range)) else {
            throw LineError(reason: "timestamp \(excerpt(range)) of \(name) is not an integer")
        }
        return stamp
    }
}
