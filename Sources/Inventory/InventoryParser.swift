import Diagnostics
import Foundation
import NetAddress

/// What a parse yields: the usable entries, in body order, and one problem per rejected entry.
public struct InventoryParseResult: Sendable {
    /// Entries with a valid address and at least one label, in the order they appeared.
    public var entries: [InventoryEntry]
    /// Rejected entries, one line each, in the order they appeared.
    public var problems: [InventoryProblem]
    /// Entries skipped because both hostgroup and domain are empty (they add nothing),
    /// as the Go original skips them; not problems.
    public var unlabelledCount: Int
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
public enum InventoryParser {
    /// Parses a body in `format`.
    ///
    /// Entries with a missing or bad `ip_address`, a non-string label, or (ndjson) a line
    /// that is not a JSON object become problems; the rest are kept. Fields other than
    /// `ip_address`, `domain` and `hostgroup` are ignored; a missing label is "".
    /// Throws when the body is unusable as a whole (arrayjson that is not a JSON array,
    /// or entries of which none is usable) so the caller keeps its last good inventory.
    /// An empty array or an empty ndjson body is a valid, empty inventory.
    public static func parse(_ body: some Collection<UInt8>, format: InventoryFormat) throws(InventoryParseError) -> InventoryParseResult {
        let bytes = Array(body)
        var result = InventoryParseResult(entries: [], problems: [], unlabelledCount: 0)
        switch format {
        case .arrayjson: try parseArray(bytes, into: &result)
        case .ndjson: parseLines(bytes, into: &result)
        }
        if result.entries.isEmpty, let first = result.problems.first {
            throw .noUsableEntry(problemCount: result.problems.count, first: first)
        }
        return result
    }

    private static func parseArray(_ bytes: [UInt8], into result: inout InventoryParseResult) throws(InventoryParseError) {
        let raw: [RawEntry]
        do {
            raw = try JSONDecoder().decode([RawEntry].self, from: Data(bytes))
        } catch DecodingError.typeMismatch {
            throw .notAnArray(byteCount: bytes.count, start: excerpt(bytes))
        } catch {
            throw .invalidJSON(byteCount: bytes.count, start: excerpt(bytes))
        }
        result.entries.reserveCapacity(raw.count)
        for (index, entry) in raw.enumerated() {
            accept(entry.outcome, at: .index(index), into: &result)
        }
    }

    private static func parseLines(_ bytes: [UInt8], into result: inout InventoryParseResult) {
        let decoder = JSONDecoder()
        var lineNumber = 0
        var start = bytes.startIndex
        // A UTF-8 byte order mark would make the first line invalid JSON for no reason the user can see.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start += 3 }
        while start < bytes.endIndex {
            lineNumber += 1
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let line = bytes[start..<newline]
            start = newline + 1
            guard line.contains(where: { !isJSONWhitespace($0) }) else { continue }
            let outcome: RawEntry.Outcome
            do {
                outcome = try decoder.decode(RawEntry.self, from: Data(line)).outcome
            } catch {
                outcome = .rejected("invalid JSON")
            }
            accept(outcome, at: .line(lineNumber), into: &result)
        }
    }

    private static func accept(_ outcome: RawEntry.Outcome, at location: InventoryProblem.Location, into result: inout InventoryParseResult) {
        switch outcome {
        case .rejected(let reason):
            result.problems.append(InventoryProblem(location: location, reason: reason))
        case .fields(let address, let hostgroup, let domain):
            guard let network = IPNetwork(address) else {
                result.problems.append(InventoryProblem(
                    location: location,
                    reason: "\"ip_address\" \(quoted(address, limit: 80)) is not an IP address or CIDR network"))
                return
            }
            if hostgroup.isEmpty && domain.isEmpty {
                result.unlabelledCount += 1
                return
            }
            result.entries.append(InventoryEntry(
                network: network,
                host: InventoryHost(hostgroup: hostgroup, domain: domain),
                isCIDRNotation: address.utf8.contains(UInt8(ascii: "/"))))
        }
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// A short, printable, quoted excerpt so one log line shows what came back (an HTML
    /// error page, say) without dumping the body.
    private static func excerpt(_ bytes: [UInt8]) -> String {
        quoted(String(decoding: bytes.prefix(40), as: UTF8.self), limit: nil) + (bytes.count > 40 ? "..." : "")
    }
}

/// One element as decoded: never throws, so one bad element does not sink the whole array.
private struct RawEntry: Decodable {
    enum Outcome {
        case fields(address: String, hostgroup: String, domain: String)
        case rejected(String)
    }

    private struct FieldKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    let outcome: Outcome

    init(from decoder: any Decoder) {
        guard let container = try? decoder.container(keyedBy: FieldKey.self) else {
            outcome = .rejected("not a JSON object")
            return
        }
        // Go's encoding/json, which read these bodies before, also matches keys that differ
        // only in case ("Hostgroup"); the exact spelling is preferred, as there.
        var presentKeys: [FieldKey]?
        func key(_ name: String) -> FieldKey {
            let exact = FieldKey(stringValue: name)
            if container.contains(exact) { return exact }
            if presentKeys == nil { presentKeys = container.allKeys }
            return presentKeys!.first { $0.stringValue.lowercased() == name } ?? exact
        }
        let address: String?
        let hostgroup: String?
        let domain: String?
        do { address = try container.decodeIfPresent(String.self, forKey: key("ip_address")) } catch {
            outcome = .rejected("\"ip_address\" is not a string"); return
        }
        do { hostgroup = try container.decodeIfPresent(String.self, forKey: key("hostgroup")) } catch {
            outcome = .rejected("\"hostgroup\" is not a string"); return
        }
        do { domain = try container.decodeIfPresent(String.self, forKey: key("domain")) } catch {
            outcome = .rejected("\"domain\" is not a string"); return
        }
        guard let address else {
            outcome = .rejected("missing \"ip_address\"")
            return
        }
        outcome = .fields(address: address, hostgroup: hostgroup ?? "", domain: domain ?? "")
    }
}
