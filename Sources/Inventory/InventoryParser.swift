import Diagnostics
import NetAddress

/// What a parse yields: the usable entries, in body order, and one problem per rejected entry.
public struct InventoryParseResult: Sendable {
    /// Entries with a valid address and at least one label, in the order they appeared.
    public var entries: [InventoryEntry]
    /// Rejected entries, one line each, in the order they appeared; at most
    /// `InventoryParser.maxRecordedProblems` are kept, `problemCount` counts them all.
    public var problems: [InventoryProblem]
    /// Entries skipped because both hostgroup and domain are empty (they add nothing),
    /// as the Go original skips them; not problems.
    public var unlabelledCount: Int
    /// Every rejected entry, recorded in `problems` or not.
    public var problemCount = 0
    /// Usable entries past the `maxEntries` bound, left out.
    public var droppedEntries = 0
    /// Labels (hostgroup or domain) longer than `InventoryParser.maxLabelBytes`, cut to it.
    public var truncatedLabels = 0

    /// An empty result.
    public init(entries: [InventoryEntry] = [], problems: [InventoryProblem] = [], unlabelledCount: Int = 0) {
        self.entries = entries
        self.problems = problems
        self.unlabelledCount = unlabelledCount
    }
}

/// One rejected inventory entry, with where it was and why.
public struct InventoryProblem: Hashable, Sendable, CustomStringConvertible {
    /// Where a rejected entry sits in the body.
    public enum Location: Hashable, Sendable {
        /// 1-based line of an ndjson body.
        case line(Int)
        /// 0-based position in an arrayjson array.
        case index(Int)
    }

    /// Where the entry was.
    public let location: Location
    /// Why it was rejected, e.g. `invalid JSON`.
    public let reason: String

    /// A problem at `location` for `reason`.
    public init(location: Location, reason: String) {
        self.location = location
        self.reason = reason
    }

    /// One log line: `line 3: invalid JSON; entry skipped`.
    public var description: String {
        switch location {
        case .line(let line): return "line \(line): \(reason); entry skipped"
        case .index(let index): return "array index \(index): \(reason); entry skipped"
        }
    }
}

/// A body that cannot be used at all; the caller keeps its last good inventory.
public enum InventoryParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An arrayjson body that is not JSON; carries the body size and its first bytes.
    case invalidJSON(byteCount: Int, start: String)
    /// An arrayjson body that is JSON but not an array.
    case notAnArray(byteCount: Int, start: String)
    /// A body with entries, none of them usable; carries the count and the first problem.
    case noUsableEntry(problemCount: Int, first: InventoryProblem)

    /// One log line saying what was wrong with the body.
    public var description: String {
        switch self {
        case .invalidJSON(let count, let start):
            return "inventory body is not valid JSON (\(count) bytes, starting \(start)); keeping the previous inventory"
        case .notAnArray(let count, let start):
            return "arrayjson inventory body is not a JSON array (\(count) bytes, starting \(start)); keeping the previous inventory"
        case .noUsableEntry(let count, let first):
            return "inventory body has no usable entry (\(count) rejected, first: \(first)); keeping the previous inventory"
        }
    }
}

/// Parses inventory bodies. Pure: bytes in, entries and problems out; no I/O.
///
/// The body is read in place, one entry at a time (`JSONReader`): memory is the body
/// and the entries kept, never a copy of the body or a tree of its values. What the
/// bounds cut (entries past `maxEntries`, labels past `maxLabelBytes`, problems past
/// `maxRecordedProblems`) is counted in the result.
public enum InventoryParser {
    /// Longest hostgroup or domain kept, in UTF-8 bytes; a longer one is cut at a
    /// character boundary (a DNS name is at most 253).
    public static let maxLabelBytes = 256
    /// Most entries kept by default; entries past it are counted, not kept.
    public static let defaultMaxEntries = 1_000_000
    /// Rejected entries recorded with their reason; the rest are only counted.
    public static let maxRecordedProblems = 1000

    /// Parses a body in `format`.
    ///
    /// Entries with a missing or bad `ip_address`, a non-string label, or (ndjson) a line
    /// that is not a JSON object become problems; the rest are kept. Fields other than
    /// `ip_address`, `domain` and `hostgroup` are ignored; a missing label is "".
    /// Throws when the body is unusable as a whole (arrayjson that is not a JSON array,
    /// or entries of which none is usable) so the caller keeps its last good inventory.
    /// An empty array or an empty ndjson body is a valid, empty inventory.
    public static func parse(_ body: UnsafeRawBufferPointer, format: InventoryFormat,
                             maxEntries: Int = defaultMaxEntries) throws(InventoryParseError) -> InventoryParseResult {
        var result = InventoryParseResult()
        let limits = Limits(maxEntries: max(0, maxEntries))
        switch format {
        case .arrayjson: try parseArray(body, limits: limits, into: &result)
        case .ndjson: parseLines(body, limits: limits, into: &result)
        }
        if result.entries.isEmpty, result.droppedEntries == 0, let first = result.problems.first {
            throw .noUsableEntry(problemCount: result.problemCount, first: first)
        }
        return result
    }

    /// Parses a body held in any collection of bytes; contiguous ones (arrays, Data) are
    /// read in place.
    public static func parse(_ body: some Collection<UInt8>, format: InventoryFormat,
                             maxEntries: Int = defaultMaxEntries) throws(InventoryParseError) -> InventoryParseResult {
        func parsed(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<InventoryParseResult, InventoryParseError> {
            Result { () throws(InventoryParseError) in
                try parse(UnsafeRawBufferPointer(buffer), format: format, maxEntries: maxEntries)
            }
        }
        let outcome = body.withContiguousStorageIfAvailable(parsed) ?? Array(body).withUnsafeBufferPointer(parsed)
        return try outcome.get()
    }

    struct Limits {
        var maxEntries: Int
    }

    private static func parseArray(_ bytes: UnsafeRawBufferPointer, limits: Limits,
                                   into result: inout InventoryParseResult) throws(InventoryParseError) {
        var reader = JSONReader(bytes)
        do {
            reader.skipByteOrderMark()
            reader.skipWhitespace()
            guard reader.current == UInt8(ascii: "[") else {
                // JSON of another kind is told apart from no JSON at all.
                try reader.skipValue()
                reader.skipWhitespace()
                guard reader.atEnd else { throw JSONReader.Invalid() }
                throw InventoryParseError.notAnArray(byteCount: bytes.count, start: excerpt(bytes))
            }
            try reader.expect(UInt8(ascii: "["))
            reader.skipWhitespace()
            if reader.current == UInt8(ascii: "]") {
                reader.position += 1
            } else {
                var index = 0
                while true {
                    reader.skipWhitespace()
                    let outcome: Outcome
                    if reader.current == UInt8(ascii: "{") {
                        outcome = try readEntry(&reader)
                    } else {
                        try reader.skipValue()
                        outcome = .rejected("not a JSON object")
                    }
                    accept(outcome, at: .index(index), limits: limits, into: &result)
                    index += 1
                    reader.skipWhitespace()
                    if reader.current == UInt8(ascii: ",") {
                        reader.position += 1
                        continue
                    }
                    try reader.expect(UInt8(ascii: "]"))
                    break
                }
            }
            reader.skipWhitespace()
            guard reader.atEnd else { throw JSONReader.Invalid() }
        } catch let error as InventoryParseError {
            throw error
        } catch {
            throw .invalidJSON(byteCount: bytes.count, start: excerpt(bytes))
        }
    }

    private static func parseLines(_ bytes: UnsafeRawBufferPointer, limits: Limits, into result: inout InventoryParseResult) {
        var lineNumber = 0
        var start = 0
        // A UTF-8 byte order mark would make the first line invalid JSON for no reason the user can see.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        while start < bytes.count {
            lineNumber += 1
            var newline = start
            while newline < bytes.count, bytes[newline] != UInt8(ascii: "\n") { newline += 1 }
            var reader = JSONReader(bytes, start: start, end: newline)
            start = newline + 1
            reader.skipWhitespace()
            if reader.atEnd { continue }
            let outcome: Outcome
            do throws(JSONReader.Invalid) {
                if reader.current == UInt8(ascii: "{") {
                    outcome = try readEntry(&reader)
                } else {
                    try reader.skipValue()
                    outcome = .rejected("not a JSON object")
                }
                reader.skipWhitespace()
                guard reader.atEnd else { throw JSONReader.Invalid() }
            } catch {
                accept(.rejected("invalid JSON"), at: .line(lineNumber), limits: limits, into: &result)
                continue
            }
            accept(outcome, at: .line(lineNumber), limits: limits, into: &result)
        }
    }

    /// One entry as read: its fields, or why it cannot be used.
    enum Outcome {
        case fields(address: String, hostgroup: String, domain: String)
        case rejected(String)
    }

    /// Reads the object at the reader's position. Go's encoding/json, which read these
    /// bodies before, also matches keys that differ only in case ("Hostgroup"); the exact
    /// spelling is preferred, as there, and the first differently cased key otherwise.
    static func readEntry(_ reader: inout JSONReader) throws(JSONReader.Invalid) -> Outcome {
        let names = ["ip_address", "hostgroup", "domain"]
        var exact: [JSONReader.Field] = [.absent, .absent, .absent]
        var folded: [JSONReader.Field] = [.absent, .absent, .absent]
        try reader.expect(UInt8(ascii: "{"))
        reader.skipWhitespace()
        if reader.current == UInt8(ascii: "}") {
            reader.position += 1
        } else {
            while true {
                reader.skipWhitespace()
                let key = try reader.readString()
                reader.skipWhitespace()
                try reader.expect(UInt8(ascii: ":"))
                reader.skipWhitespace()
                if let slot = names.firstIndex(of: key) {
                    exact[slot] = try reader.readField()
                } else if key.utf8.count <= 64, let slot = names.firstIndex(of: key.lowercased()) {
                    let field = try reader.readField()
                    if folded[slot] == .absent { folded[slot] = field }
                } else {
                    try reader.skipValue()
                }
                reader.skipWhitespace()
                if reader.current == UInt8(ascii: ",") {
                    reader.position += 1
                    continue
                }
                try reader.expect(UInt8(ascii: "}"))
                break
            }
        }
        let fields = (0..<3).map { exact[$0] == .absent ? folded[$0] : exact[$0] }
        for (slot, name) in names.enumerated() where fields[slot] == .other {
            return .rejected("\"\(name)\" is not a string")
        }
        func text(_ field: JSONReader.Field) -> String? {
            if case .string(let value) = field { return value }
            return nil
        }
        guard let address = text(fields[0]) else { return .rejected("missing \"ip_address\"") }
        return .fields(address: address, hostgroup: text(fields[1]) ?? "", domain: text(fields[2]) ?? "")
    }

    private static func accept(_ outcome: Outcome, at location: InventoryProblem.Location, limits: Limits,
                               into result: inout InventoryParseResult) {
        switch outcome {
        case .rejected(let reason):
            reject(InventoryProblem(location: location, reason: reason), into: &result)
        case .fields(let address, let hostgroup, let domain):
            guard let network = IPNetwork(address) else {
                reject(InventoryProblem(
                    location: location,
                    reason: "\"ip_address\" \(quoted(address, limit: 80)) is not an IP address or CIDR network"), into: &result)
                return
            }
            if hostgroup.isEmpty && domain.isEmpty {
                result.unlabelledCount += 1
                return
            }
            guard result.entries.count < limits.maxEntries else {
                result.droppedEntries += 1
                return
            }
            let host = InventoryHost(hostgroup: bounded(hostgroup, &result), domain: bounded(domain, &result))
            result.entries.append(InventoryEntry(
                network: network, host: host, isCIDRNotation: address.utf8.contains(UInt8(ascii: "/"))))
        }
    }

    private static func reject(_ problem: InventoryProblem, into result: inout InventoryParseResult) {
        result.problemCount += 1
        if result.problems.count < maxRecordedProblems { result.problems.append(problem) }
    }

    /// `label` cut to `maxLabelBytes` at a character boundary, counted when cut.
    static func bounded(_ label: String, _ result: inout InventoryParseResult) -> String {
        let utf8 = label.utf8
        guard utf8.count > maxLabelBytes else { return label }
        result.truncatedLabels += 1
        var cut = utf8.index(utf8.startIndex, offsetBy: maxLabelBytes)
        // Back off continuation bytes (10xxxxxx) so the cut never splits a character.
        while cut > utf8.startIndex, utf8[cut] & 0xC0 == 0x80 { cut = utf8.index(before: cut) }
        return String(decoding: utf8[..<cut], as: UTF8.self)
    }

    /// A short, printable, quoted excerpt so one log line shows what came back (an HTML
    /// error page, say) without dumping the body.
    private static func excerpt(_ bytes: UnsafeRawBufferPointer) -> String {
        quoted(String(decoding: bytes.prefix(40), as: UTF8.self), limit: nil) + (bytes.count > 40 ? "..." : "")
    }
}
