/// Rewrites command lines written for Go's `flag` package into what swift-argument-parser
/// accepts, so that deployed units and scripts keep working unchanged.
///
/// Contract, mirroring Go's `flag` package:
/// - A flag may start with one dash or two, and take its value as `-name=value` or as the
///   next argument (`-name value`). Every flag comes out as `--name` / `--name=value`.
/// - A flag named in `booleanFlags` never takes the next argument: `-x` and `-x=true` become
///   `--x`, `-x=false` becomes `--no-x` (declare it with `inversion: .prefixedNo`).
/// - Flag rewriting stops at `--` and at the first argument that is not a flag; those and
///   everything after them are left as they are.
/// - When the first argument is one of `subcommands`, nothing is rewritten: subcommands
///   use swift-argument-parser's own syntax.
/// - `-h`, `-help` and `--help` become `--help`.
public enum GoFlags {
    /// Returns `arguments` (without the program name) rewritten as described on ``GoFlags``.
    /// Throws ``FlagError`` for a boolean flag with a value Go would reject.
    public static func normalize(
        _ arguments: [String],
        booleanFlags: Set<String>,
        subcommands: Set<String> = []
    ) throws -> [String] {
        if let first = arguments.first, subcommands.contains(first) {
            return arguments
        }
        var result: [String] = []
        result.reserveCapacity(arguments.count)
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard let (name, value) = splitFlag(argument) else {
                // "--", a lone "-" or a positional argument: Go stops parsing flags here.
                result.append(contentsOf: arguments[index...])
                break
            }
            index += 1
            if name == "h" || name == "help" {
                result.append("--help")
            } else if booleanFlags.contains(name) {
                guard let value else {
                    result.append("--" + name)
                    continue
                }
                guard let enabled = parseBool(value) else {
                    throw FlagError.invalidBoolean(flag: name, value: value)
                }
                result.append(enabled ? "--" + name : "--no-" + name)
            } else if let value {
                // `-name=` sets an empty value, as Go allows; the parser wants it separate.
                result.append(contentsOf: value.isEmpty ? ["--" + name, ""] : ["--" + name + "=" + value])
            } else if index < arguments.count {
                // The value is the next argument verbatim, even when it starts with a dash
                // ("-cron-job-time-offset -30s"); joining keeps the parser from reading it as a flag.
                let next = arguments[index]
                result.append(contentsOf: next.isEmpty ? ["--" + name, ""] : ["--" + name + "=" + next])
                index += 1
            } else {
                // Left without a value so the parser reports it as missing.
                result.append("--" + name)
            }
        }
        return result
    }

    /// True when normalized `arguments` ask for help (`-h`, `-help` or `--help` among the
    /// flags, before `--` or the first argument that is not a flag), as Go's flag package
    /// answers with the usage wherever -h stands among the flags.
    public static func asksForHelp(_ normalized: [String]) -> Bool {
        for argument in normalized {
            if argument == "--help" { return true }
            // An empty value follows its flag as a separate argument.
            if argument == "--" || !(argument.isEmpty || argument.hasPrefix("--")) { return false }
        }
        return false
    }

    /// Throws ``FlagError/invalidValue(flag:reason:)`` for a value of one of `durationFlags`
    /// in normalized `arguments` that is not a Go duration, so the message says why.
    public static func checkDurations(_ normalized: [String], durationFlags: Set<String>) throws(FlagError) {
        for argument in normalized {
            if argument == "--" || !(argument.isEmpty || argument.hasPrefix("--")) { break }
            guard let equals = argument.firstIndex(of: "=") else { continue }
            let name = String(argument.dropFirst(2)[..<equals])
            guard durationFlags.contains(name) else { continue }
            do {
                _ = try GoDuration(parsing: String(argument[argument.index(after: equals)...]))
            } catch let error as FlagError {
                throw .invalidValue(flag: name, reason: error.description)
            } catch {
                throw .invalidValue(flag: name, reason: "\(error)")
            }
        }
    }

    /// Parses a boolean the way Go's `strconv.ParseBool` does; nil when it is not one.
    public static func parseBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: return nil
        }
    }

    /// Splits `-name`, `--name`, `-name=value` into name and value; nil for non-flags.
    private static func splitFlag(_ argument: String) -> (name: String, value: String?)? {
        var rest = Substring(argument)
        guard rest.first == "-" else { return nil }
        rest = rest.dropFirst()
        if rest.first == "-" { rest = rest.dropFirst() }
        // "-", "--" and "---x" are not flags in Go's syntax.
        guard let first = rest.first, first != "-", first != "=" else { return nil }
        if let equals = rest.firstIndex(of: "=") {
            return (String(rest[..<equals]), String(rest[rest.index(after: equals)...]))
        }
        return (String(rest), nil)
    }
}
