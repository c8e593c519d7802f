import Exposition

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
