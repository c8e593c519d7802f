import Exposition
import NetAddress

/// Why a scraped darkstat or ebpf_exporter response could not be used at all.
///
/// One line meant for the log and for the operator: it names the source, says what was
/// wrong and what to check. The caller keeps its last good values and reports the
/// collector as failed.
public struct MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The one-line message.
    public let message: String

    /// An error with its one-line message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// The lines of one scrape that were skipped: the parser's and the converter's, capped
/// as the parser caps its own so a garbage response cannot grow the report without bound.
struct ProblemLog {
    private(set) var problems: [ExpositionProblem]
    private(set) var count: Int

    init(parsed: ExpositionParseResult) {
        problems = parsed.problems
        count = parsed.problemCount
    }

    mutating func add(_ problem: ExpositionProblem) {
        count += 1
        if problems.count < ExpositionParser.maxRecordedProblems { problems.append(problem) }
    }

    /// Recorded problems in line order.
    var sorted: [ExpositionProblem] { problems.sorted { $0.line < $1.line } }
}

/// Converts a sample value to a byte count; counters of bytes are whole and non-negative.
func byteCount(_ value: Double) -> UInt64? {
    guard value.isFinite, value >= 0, value < 18_446_744_073_709_551_616.0, value == value.rounded(.towardZero) else {
        return nil
    }
    return UInt64(value)
}

/// The one-line reason a response holds none of the expected families.
func missingFamilyMessage(source: String, families: String, parsed: ExpositionParseResult, flag: String) -> String {
    if parsed.lineCount == 0 {
        return "\(source): empty response; check that \(flag) is the exporter's /metrics URL"
    }
    let detail = parsed.problemSummary.map { " (\($0))" } ?? ""
    return "\(source): response has no \(families) metric\(detail); check that \(flag) is the exporter's /metrics URL"
}
