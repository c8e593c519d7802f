import ArgumentParser
import Testing
@testable import CommandLineSupport

/// A command with one flag of each kind the executables declare.
private struct UsageTestCommand: ParsableCommand {
    enum Mode: String, ExpressibleByArgument { case auto, manual }

    @Option(name: .customLong("listen-address"), help: "Address to listen on")
    var listenAddress = "0.0.0.0:19100"
    @Option(name: .customLong("token"), help: "API token")
    var token = ""
    @Option(name: .customLong("batch-size"), help: "Points per request")
    var batchSize = 5000
    @Option(name: .customLong("limit"), help: "Zero means none")
    var limit: Int32 = 0
    @Option(name: .customLong("interval"), help: "How often")
    var interval = GoDuration(nanoseconds: 7_000_000_000)
    @Option(name: .customLong("offset"), help: "Added to the time")
    var offset = GoDuration(nanoseconds: 0)
    @Option(name: .customLong("floor"), help: "Bits per second")
    var floor = 1000.0
    @Option(name: .customLong("mode"), help: "auto or manual")
    var mode = Mode.auto
    @Option(name: .customLong("net"), help: "A network (repeatable)")
    var nets: [String] = []
    @Option(name: .customLong("user"), help: "Optional user\nsecond line")
    var user: String?
    @Flag(name: .customLong("enabled"), inversion: .prefixedNo, help: "On by default")
    var enabled = true
    @Flag(name: .customLong("once"), inversion: .prefixedNo, help: "Run once")
    var once = false
    @Flag(name: .customLong("v"), help: "Verbose")
    var verbose = false
    @Option(name: .customLong("internal"), help: .hidden)
    var internalValue = "x"
    @OptionGroup var log: LogOptions
    @Argument(help: "Files")
    var files: [String] = []
}

@Suite struct GoUsageTests {
    @Test func rendersAsGosFlagPackage() {
        let text = GoUsage.render(program: "usage-test", flags: GoUsage.flags(of: UsageTestCommand.self))
        #expect(text == """
            Usage of usage-test:
              -batch-size int
                \tPoints per request (default 5000)
              -enabled
                \tOn by default (default true)
              -floor float
                \tBits per second (default 1000)
              -interval duration
                \tHow often (default 7s)
              -limit int
                \tZero means none
              -listen-address string
                \tAddress to listen on (default "0.0.0.0:19100")
              -log-disable-colors
                \tDisable colors on logger.
              -log-disable-timestamp
                \tDisable timestamp on logger.
              -log-level string
                \tLog level: trace, debug, info, warn, error, fatal, panic. (default "info")
              -mode string
                \tauto or manual (default "auto")
              -net value
                \tA network (repeatable)
              -offset duration
                \tAdded to the time
              -once
                \tRun once
              -token string
                \tAPI token
              -user string
                \tOptional user
                \tsecond line
              -v\tVerbose

            """)
    }

    @Test func booleansAreTheFlagsWithoutAType() {
        let booleans = GoUsage.flags(of: UsageTestCommand.self).filter(\.isBoolean).map(\.name)
        #expect(booleans == ["enabled", "log-disable-colors", "log-disable-timestamp", "once", "v"])
    }

    @Test(arguments: [
        (["--listen-address=x", "--help"], true),
        (["--help"], true),
        (["--once", "--token", "", "--help"], true),
        (["--once", "file", "--help"], false),
        (["--", "--help"], false),
        (["--token=--help"], false),
    ])
    func helpIsAskedAmongTheFlagsOnly(arguments: [String], expected: Bool) {
        #expect(GoFlags.asksForHelp(arguments) == expected)
    }

    @Test func durationsAreCheckedWithTheirReason() throws {
        try GoFlags.checkDurations(["--interval=1m30s", "--token=7x"], durationFlags: ["interval"])
        #expect(throws: FlagError.invalidValue(flag: "interval", reason: FlagError.invalidDuration("7x", reason: "unknown unit \"x\" (use ns, us, ms, s, m or h)").description)) {
            try GoFlags.checkDurations(["--once", "--interval=7x"], durationFlags: ["interval"])
        }
        // After the first argument that is not a flag, nothing is a flag any more.
        try GoFlags.checkDurations(["file", "--interval=7x"], durationFlags: ["interval"])
    }

    @Test func parsedDurationOptionsKeepTheirDefault() throws {
        let parsed = try UsageTestCommand.parse(try GoFlags.normalize(["-offset", "-30s"], booleanFlags: []))
        #expect(parsed.interval == GoDuration(nanoseconds: 7_000_000_000))
        #expect(parsed.offset == GoDuration(nanoseconds: -30_000_000_000))
    }
}
