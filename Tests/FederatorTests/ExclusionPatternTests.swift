import Testing
@testable import Federator

@Suite struct ExclusionPatternTests {
    @Test(arguments: ["22|9100", "1[0-9]{4}", #"52\..*|192\.168\..*"#, "(?i)PROMETHEUS.*", "a+?", "[*+]+",
                      ExclusionPreset.goPortPattern, ExclusionPreset.goRemoteAddressPattern])
    func acceptsRE2(_ pattern: String) throws {
        try ExclusionPattern.validate(pattern, flag: "-exclude-ports-regex")
    }

    @Test(arguments: [
        ("", "empty pattern"),
        ("(22", "not a regular expression"),
        ("[0-9", "not a regular expression"),
        ("10(?=\\.)", "the look-ahead (?= is not supported"),
        ("(?<!a)b", "the look-behind (?<! is not supported"),
        ("(?>ab)", "the atomic group (?> is not supported"),
        (#"(a)\1"#, #"the backreference \1 is not supported"#),
        ("a++", "the possessive quantifier ++ is not supported"),
        ("a{2}+", "the possessive quantifier }+ is not supported"),
        ("22|", "matches the empty value"),
        (".*", "matches the empty value"),
    ])
    func refusesWithOneLine(_ pattern: String, _ reason: String) {
        do {
            try ExclusionPattern.validate(pattern, flag: "-exclude-ports-regex")
            Issue.record("\(pattern) was accepted")
        } catch {
            let line = "\(error)"
            #expect(line.hasPrefix("-exclude-ports-regex \"\(pattern)\": "))
            #expect(line.contains(reason), "\(line)")
            #expect(!line.contains("\n"))
        }
    }

    @Test func bracketsAndEscapesHideConstructs() {
        #expect(ExclusionPattern.unsupportedConstruct(#"[(?=]x"#) == nil)
        #expect(ExclusionPattern.unsupportedConstruct(#"\(?=x"#) == nil)
        #expect(ExclusionPattern.unsupportedConstruct("[](?=]") == nil)
        #expect(ExclusionPattern.unsupportedConstruct("[^](?=]") == nil)
        #expect(ExclusionPattern.unsupportedConstruct(#"\\1"#) == nil)
    }
}
