import Exposition

/// The lines of one scrape that were skipped: the parser's and the converter's, capped
/// as the parser caps its own so a garbage response cannot grow the report without bound.
struct ProblemLog {
    private(set) var problems: [ExpositionProblem] = []
    private(set) var count = 0

    /// An empty log, for a converter fed sample by sample.
    init() {}

    mutating func add(_ problem: ExpositionProblem) {
        count += 1
        if problems.count < ExpositionParser.maxRecordedProblems { problems.append(problem) }
    }

    /// This log and the parser's problems together, the earliest lines kept.
    func merged(with parsed: ExpositionParseResult) -> ProblemLog {
        var all = ProblemLog()
        all.problems = Array((parsed.problems + problems).sorted { $0.line < $1.line }.prefix(ExpositionParser.maxRecordedProblems))
        all.count = parsed.problemCount + count
        return all
    }

    /// Recorded problems in line order.
    var sorted: [ExpositionProblem] { problems.sorted { $0.line < $1.line } }
}

/// What both converters keep while fed one scrape's samples: the problems, the first
/// unusable sample, and the samples counted, skipped and dropped.
struct ConversionTally {
    var problems = ProblemLog()
    var firstUnusable: ExpositionProblem?
    /// Samples of the converter's families.
    var samples = 0
    /// Samples whose peer is this host.
    var skippedLocal = 0
    /// Samples past the converter's record bound.
    var dropped = 0

    mutating func reject(_ problem: ExpositionProblem) {
        firstUnusable = firstUnusable ?? problem
        problems.add(problem)
    }
}

/// A conversion fed one sample at a time, so a scrape is converted while it is parsed.
protocol SampleConversion {
    associatedtype Output
    mutating func add(_ sample: ParsedSample)
    func finish(_ parsed: ExpositionParseResult) throws(MigrationError) -> Output
}

extension SampleConversion {
    /// Parses `bytes` in place, converting each sample as it is read: memory is what the
    /// conversion keeps, never the list of samples.
    func run(exposition bytes: [UInt8]) throws(MigrationError) -> Output {
        var conversion = self
        let parsed = bytes.withUnsafeBufferPointer { ExpositionParser.parse(buffer: $0) { conversion.add($0) } }
        return try conversion.finish(parsed)
    }

    /// Converts the samples of an exposition already parsed.
    func run(parsed: ExpositionParseResult) throws(MigrationError) -> Output {
        var conversion = self
        for sample in parsed.samples { conversion.add(sample) }
        return try conversion.finish(parsed)
    }
}
