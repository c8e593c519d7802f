import ArgumentParser
import Testing
@testable import CommandLineSupport

@Suite struct GoFlagsTests {
    static let booleans: Set<String> = ["version", "log-disable-colors", "once"]

    @Test(arguments: [
        (["-listen-address", "x"], ["--listen-address=x"]),
        (["-listen-address=x"], ["--listen-address=x"]),
        (["--listen-address", "x"], ["--listen-address=x"]),
        (["-listen-address"], ["--listen-address"]),
        (["--listen-address=x"], ["--listen-address=x"]),
        (["-addr", "-5"], ["--addr=-5"]),
        (["-offset", "-30s", "-once"], ["--offset=-30s", "--once"]),
        (["-addr="], ["--addr", ""]),
        (["-addr", ""], ["--addr", ""]),
        (["-addr=a=b"], ["--addr=a=b"]),
        (["-version"], ["--version"]),
        (["--version"], ["--version"]),
        (["-version=true"], ["--version"]),
        (["-version=false"], ["--no-version"]),
        (["--once=0"], ["--no-once"]),
        (["-once=1"], ["--once"]),
        (["-once=t"], ["--once"]),
        (["-once=F"], ["--no-once"]),
        (["-once=TRUE"], ["--once"]),
        (["-once=False"], ["--no-once"]),
        (["-once", "-log-disable-colors"], ["--once", "--log-disable-colors"]),
        (["-once", "file", "-version"], ["--once", "file", "-version"]),
        (["-a", "1", "--", "-version"], ["--a=1", "--", "-version"]),
        (["-h"], ["--help"]),
        (["-help"], ["--help"]),
        (["replay", "-x"], ["replay", "-x"]),
        (["-"], ["-"]),
        ([], []),
    ])
    func normalizes(input: [String], expected: [String]) throws {
        #expect(try GoFlags.normalize(input, booleanFlags: Self.booleans, subcommands: ["replay"]) == expected)
    }

    @Test(arguments: ["yes", "no", "", "2", "tRUE", "on"])
    func rejectsBadBooleans(value: String) {
        #expect(throws: FlagError.invalidBoolean(flag: "once", value: value)) {
            try GoFlags.normalize(["-once=" + value], booleanFlags: Self.booleans)
        }
    }

    @Test func errorNamesFlagAndValue() {
        let error = FlagError.invalidBoolean(flag: "once", value: "yes")
        #expect(error.description.contains("-once"))
        #expect(error.description.contains("\"yes\""))
    }

    @Test func subcommandOnlyCountsFirst() throws {
        #expect(try GoFlags.normalize(["-a", "replay"], booleanFlags: [], subcommands: ["replay"]) == ["--a=replay"])
    }

    /// A command with one string option, to see what the argument parser makes of the output.
    struct EmptyValueCommand: ParsableCommand {
        @Option(name: .customLong("addr")) var addr = "default"
    }

    @Test func emptyValueReachesTheParserAsEmpty() throws {
        for arguments in [["-addr="], ["-addr", ""], ["--addr="]] {
            let parsed = try EmptyValueCommand.parse(try GoFlags.normalize(arguments, booleanFlags: []))
            #expect(parsed.addr == "", "\(arguments)")
        }
    }
}
