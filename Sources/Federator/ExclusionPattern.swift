/// Checks a regular expression given for an exclusion before it reaches PromQL, so a bad
/// one stops the federator at start with one line instead of failing every run.
///
/// Prometheus reads `label!~"RE"` with Go's RE2 syntax, anchored at both ends. The syntax is
/// checked with Swift's regular expressions, which accept a superset of RE2; the constructs
/// RE2 lacks (look-around, backreferences, atomic groups, possessive quantifiers) are
/// refused by name, because Prometheus would refuse them at every query.
public enum ExclusionPattern {
    /// Throws a one-line ``FederatorError`` naming `flag` when `pattern` cannot be used:
    /// empty, not a regular expression, outside RE2, or matching the empty value (which
    /// would leave out every series without that label, such as a Go agent's traffic,
    /// which has no port).
    public static func validate(_ pattern: String, flag: String) throws {
        func refuse(_ reason: String) -> FederatorError {
            FederatorError(description: "\(flag) \"\(pattern)\": \(reason)")
        }
        guard !pattern.isEmpty else { throw refuse("empty pattern; leave the flag out to exclude nothing") }
        if let construct = unsupportedConstruct(pattern) {
            throw refuse("\(construct) is not supported by Prometheus's regular expressions (RE2)")
        }
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw refuse("not a regular expression: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        if (try? regex.wholeMatch(in: "")) != nil {
            throw refuse("matches the empty value, so it would exclude every series without the label; write e.g. \"22|9100\", not \"22|\"")
        }
    }

    /// The first construct of `pattern` that RE2 does not have, named for the error line.
    static func unsupportedConstruct(_ pattern: String) -> String? {
        let characters = Array(pattern)
        var index = 0
        var inClass = false
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if character == "\\" {
                if !inClass, let next {
                    if next.isNumber && next != "0" { return "the backreference \\\(next)" }
                    if next == "k" || next == "g" { return "the backreference \\\(next)" }
                }
                index += 2
                continue
            }
            if inClass {
                if character == "]" { inClass = false }
                index += 1
                continue
            }
            switch character {
            case "[":
                inClass = true
                // A "]" right after "[" or "[^" is a literal member, not the end.
                if next == "^" { index += 1 }
                if index + 1 < characters.count && characters[index + 1] == "]" { index += 1 }
            case "(" where next == "?":
                let rest = String(characters[(index + 2)...].prefix(2))
                if rest.hasPrefix("=") || rest.hasPrefix("!") { return "the look-ahead (?\(rest.prefix(1))" }
                if rest == "<=" || rest == "<!" { return "the look-behind (?\(rest)" }
                if rest.hasPrefix(">") { return "the atomic group (?>" }
            case "*", "+", "?", "}":
                if next == "+" { return "the possessive quantifier \(character)+" }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
