import Testing
import Logging
import Synchronization
@testable import CommandLineSupport

@Suite struct LogSetupTests {
    @Test(arguments: [
        ("trace", Logger.Level.trace), ("debug", .debug), ("info", .info), ("INFO", .info),
        ("warn", .warning), ("warning", .warning), ("error", .error), ("fatal", .critical), ("panic", .critical),
    ])
    func parsesLevels(text: String, level: Logger.Level) throws {
        #expect(try LogSetup.parseLevel(text) == level)
    }

    @Test(arguments: ["", "verbose", "notice", "critical", "warnings"])
    func rejectsUnknownLevels(text: String) {
        #expect(throws: FlagError.invalidLogLevel(text)) { try LogSetup.parseLevel(text) }
        #expect(FlagError.invalidLogLevel(text).description.contains("trace, debug, info"))
    }

    @Test(arguments: [
        (Logger.Level.info, "hello", [:], "time=\"2024-01-02T03:04:05Z\" level=info msg=hello\n"),
        (.warning, "job failed", ["error": "connection refused", "run": "3"],
         "time=\"2024-01-02T03:04:05Z\" level=warning msg=\"job failed\" error=\"connection refused\" run=3\n"),
        (.critical, "say \"hi\"\n", ["path": "/a/b-c_d.e@f^g+h"],
         "time=\"2024-01-02T03:04:05Z\" level=fatal msg=\"say \\\"hi\\\"\\n\" path=/a/b-c_d.e@f^g+h\n"),
        (.debug, "", ["empty": ""], "time=\"2024-01-02T03:04:05Z\" level=debug msg=\"\" empty=\"\"\n"),
    ] as [(Logger.Level, String, Logger.Metadata, String)])
    func formatsPlainLines(level: Logger.Level, message: String, metadata: Logger.Metadata, expected: String) {
        let format = LogrusTextFormat(colors: false, timestamps: true)
        #expect(format.format(level: level, message: message, metadata: metadata,
                              time: "2024-01-02T03:04:05Z", elapsedSeconds: 0) == expected)
    }

    @Test func omitsTimestampWhenDisabled() {
        let format = LogrusTextFormat(colors: false, timestamps: false)
        #expect(format.format(level: .error, message: "x", metadata: [:], time: "t", elapsedSeconds: 0)
                == "level=error msg=x\n")
    }

    @Test func coloredLayoutLikeLogrusTerminal() {
        let format = LogrusTextFormat(colors: true, timestamps: true)
        let line = format.format(level: .warning, message: "m", metadata: ["k": "v"], time: "t", elapsedSeconds: 12)
        #expect(line == "\u{1B}[33mWARN\u{1B}[0m[0012] m" + String(repeating: " ", count: 43) + " \u{1B}[33mk\u{1B}[0m=v\n")
        let bare = LogrusTextFormat(colors: true, timestamps: false)
        #expect(bare.format(level: .info, message: "m", metadata: [:], time: "t", elapsedSeconds: 1)
                == "\u{1B}[36mINFO\u{1B}[0m m\n")
    }

    @Test func handlerMergesMetadataAndFiltersLevel() {
        let lines = Mutex<[String]>([])
        var handler = LogrusLogHandler(format: LogrusTextFormat(colors: false, timestamps: false)) { line in
            lines.withLock { $0.append(line) }
        }
        handler.logLevel = .info
        handler[metadataKey: "component"] = "federator"
        var logger = Logger(label: "test") { _ in handler }
        logger.logLevel = .info
        logger.debug("hidden")
        logger.info("shown", metadata: ["run": "1", "component": "override"])
        #expect(lines.withLock { $0 } == ["level=info msg=shown component=override run=1\n"])
    }
}
