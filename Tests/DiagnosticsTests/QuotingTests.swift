import Diagnostics
import Testing

struct QuotingTests {
    @Test func quotesUntrustedTextOnOneLine() {
        #expect(quoted("10.0.0.1") == "\"10.0.0.1\"")
        #expect(quoted("a\"b\\c\nd") == #""a\"b\\c\nd""#)
        #expect(quoted("\u{1B}[31mred\r\u{2028}") == #""\u{1b}[31mred\u{d}\u{2028}""#)
        #expect(quoted("grüße") == "\"grüße\"")
        #expect(quoted(String(repeating: "x", count: 50)) == "\"" + String(repeating: "x", count: 40) + "\"...")
    }
}
