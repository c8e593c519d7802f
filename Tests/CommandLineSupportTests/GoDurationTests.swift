import Testing
import ArgumentParser
@testable import CommandLineSupport

@Suite struct GoDurationTests {
    @Test(arguments: [
        ("0", Int64(0)),
        ("7s", 7_000_000_000),
        ("1m30s", 90_000_000_000),
        ("300ms", 300_000_000),
        ("1.5h", 5_400_000_000_000),
        ("2h45m", 9_900_000_000_000),
        ("1us", 1_000),
        ("1µs", 1_000),
        ("1μs", 1_000),
        ("10ns", 10),
        ("0.3s", 300_000_000),
        (".5s", 500_000_000),
        ("1.s", 1_000_000_000),
        ("-1.5m", -90_000_000_000),
        ("+2s", 2_000_000_000),
        ("1h1m1s1ms1us1ns", 3_661_001_001_001),
        ("0.0000000001s", 0),
        ("2562047h47m16.854775807s", Int64.max),
    ])
    func parses(text: String, nanoseconds: Int64) throws {
        #expect(try GoDuration(parsing: text).nanoseconds == nanoseconds)
    }

    @Test(arguments: ["", "s", "7", "1x", "1.5", "abc", "1h-2m", ".s", "-", "2562047h47m16.854775808s", "99999999999999999999ns", "1 s"])
    func rejects(text: String) {
        #expect(throws: FlagError.self) { try GoDuration(parsing: text) }
        #expect(GoDuration(argument: text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "0s"),
        (7_000_000_000, "7s"),
        (90_000_000_000, "1m30s"),
        (300_000_000, "300ms"),
        (1_500_000, "1.5ms"),
        (1_000, "1µs"),
        (2, "2ns"),
        (3_600_000_000_000, "1h0m0s"),
        (5_400_000_000_000, "1h30m0s"),
        (1_500_000_000, "1.5s"),
        (-90_000_000_000, "-1m30s"),
        (61_000_000_001, "1m1.000000001s"),
    ])
    func printsLikeGo(nanoseconds: Int64, text: String) {
        #expect(GoDuration(nanoseconds: nanoseconds).description == text)
    }

    @Test func errorMessageNamesInputAndForm() {
        #expect(throws: FlagError.self) { try GoDuration(parsing: "7 seconds") }
        let error = FlagError.invalidDuration("1x", reason: "unknown unit \"x\"")
        #expect(error.description.contains("\"1x\""))
        #expect(error.description.contains("1m30s"))
    }

    @Test func convertsToSwiftDuration() throws {
        #expect(try GoDuration(parsing: "1m30s").duration == .seconds(90))
        #expect(try GoDuration(parsing: "300ms").duration == .milliseconds(300))
    }
}
