/// A flag value that the Go original would have refused, in one line that names the
/// value and says what to write instead.
public enum FlagError: Error, Equatable, CustomStringConvertible {
    /// A boolean flag was given a value that Go's `strconv.ParseBool` does not accept.
    case invalidBoolean(flag: String, value: String)
    /// A `-log-level` value that logrus would not accept.
    case invalidLogLevel(String)
    /// A duration not in Go's syntax, and what was wrong with it.
    case invalidDuration(String, reason: String)
    /// A flag's value was refused for the reason given.
    case invalidValue(flag: String, reason: String)

    public var description: String {
        switch self {
        case .invalidBoolean(let flag, let value):
            "invalid boolean value \"\(value)\" for -\(flag): use true or false (also 1/0, t/f)"
        case .invalidLogLevel(let text):
            "invalid log level \"\(text)\": use trace, debug, info, warn, error, fatal or panic"
        case .invalidDuration(let text, let reason):
            "invalid duration \"\(text)\": \(reason); write it like 7s, 1m30s, 300ms or 1.5h"
        case .invalidValue(let flag, let reason):
            "-\(flag): \(reason)"
        }
    }
}
