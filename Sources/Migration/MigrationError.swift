import Exposition

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

extension MigrationError {
    /// The one-line reason a response holds none of the expected families.
    static func missingFamily(source: String, families: String, parsed: ExpositionParseResult, flag: String) -> MigrationError {
        if parsed.lineCount == 0 {
            return MigrationError("\(source): empty response; check that \(flag) is the exporter's /metrics URL")
        }
        let detail = parsed.problemSummary.map { " (\($0))" } ?? ""
        return MigrationError("\(source): response has no \(families) metric\(detail); check that \(flag) is the exporter's /metrics URL")
    }
}
