import Exposition

/// libFuzzer entry point: the input is a scraped /metrics body, parsed straight from
/// libFuzzer's buffer (exactly the input's size, so AddressSanitizer reports any read
/// past it). A parse that breaks one of the parser's promises aborts the run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExposition(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let result = ExpositionParser.parse(buffer: UnsafeBufferPointer(start: data, count: size))
    check(result.problems.count <= ExpositionParser.maxRecordedProblems, "more problems kept than the bound")
    check(result.problemCount >= result.problems.count, "problem count below the problems kept")
    check(result.samples.count + result.problemCount <= result.lineCount, "more samples and problems than lines")
    var lastLine = 0
    for sample in result.samples {
        check(!sample.name.isEmpty, "sample without a name")
        check(sample.line > lastLine && sample.line <= result.lineCount, "sample lines out of order")
        lastLine = sample.line
        for (index, label) in sample.labels.enumerated() {
            check(!label.0.isEmpty, "label without a name")
            check(!sample.labels[..<index].contains { $0.0 == label.0 }, "label read twice")
        }
    }
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("exposition parser invariant broken: \(message)") }
}
