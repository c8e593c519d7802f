@testable import Federator

/// What a user reads of a ``FederatorError`` and whether it is retried, compared exactly.
struct Failure: Equatable, CustomStringConvertible {
    var line: String
    var retryable: Bool

    init(_ line: String, retryable: Bool = false) {
        self.line = line
        self.retryable = retryable
    }

    init(_ error: FederatorError) {
        self.init(error.description, retryable: error.retryable)
    }

    var description: String { "\(retryable ? "retryable" : "final"): \(line)" }
}

/// The failure `body` throws; nil when it throws none or something else.
func failure(_ body: () throws -> Void) -> Failure? {
    do {
        try body()
    } catch let error as FederatorError {
        return Failure(error)
    } catch {
        return Failure("not a FederatorError: \(error)")
    }
    return nil
}
