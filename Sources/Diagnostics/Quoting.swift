/// Text from outside the process (a scraped sample, an inventory field, a log value) in
/// double quotes for a one-line message: quotes and backslashes escaped, line breaks and
/// other invisible characters written as escapes, and cut after `limit` characters, so
/// whatever a peer sends can neither break nor flood a log line.
public func quoted(_ text: some StringProtocol, limit: Int? = 40) -> String {
    var out = "\""
    var written = 0
    for scalar in text.unicodeScalars {
        if let limit, written == limit { return out + "\"..." }
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        written += 1
    }
    return out + "\""
}
