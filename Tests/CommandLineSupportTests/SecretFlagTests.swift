import Foundation
import Testing
@testable import CommandLineSupport

@Suite struct SecretFlagTests {
    private func file(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func thePlainFlagIsUsedWithoutAFile() throws {
        #expect(try SecretFlag(name: "influxdb-token", value: "t0ken", file: "").resolve() == "t0ken")
        #expect(try SecretFlag(name: "influxdb-token", value: "", file: "").resolve() == "")
    }

    @Test(arguments: ["s3cret\n", "s3cret", "s3cret\r\n", "s3cret\n\n"])
    func theFileIsReadWithoutItsLineBreak(content: String) throws {
        let path = try file(content)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretFlag(name: "influxdb-token", value: "", file: path).resolve() == "s3cret")
    }

    @Test func innerSpacesAndColonsAreKept() throws {
        let path = try file("user:pa ss\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretFlag(name: "influxdb-token", value: "", file: path).resolve() == "user:pa ss")
    }

    @Test func aMissingFileIsOneClearLine() {
        let error = #expect(throws: SecretFlagError.self) {
            try SecretFlag(name: "influxdb-password", value: "", file: "/nonexistent/secret").resolve()
        }
        #expect(error?.description == "-influxdb-password-file /nonexistent/secret: cannot read it: No such file or directory")
    }

    @Test func anEmptyFileIsRefused() throws {
        let path = try file("\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SecretFlagError.empty(name: "influxdb-token", file: path)) {
            try SecretFlag(name: "influxdb-token", value: "", file: path).resolve()
        }
    }

    @Test func bothFormsTogetherAreRefused() throws {
        let path = try file("s3cret")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let flag = SecretFlag(name: "influxdb-token", value: "other", file: path)
        #expect(throws: SecretFlagError.bothGiven(name: "influxdb-token")) { try flag.validate() }
        #expect(throws: SecretFlagError.bothGiven(name: "influxdb-token")) { try flag.resolve() }
    }

    @Test func aHugeFileIsNotASecret() throws {
        let path = try file(String(repeating: "x", count: SecretFlag.maxFileBytes + 1))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SecretFlagError.self) {
            try SecretFlag(name: "influxdb-token", value: "", file: path).resolve()
        }
    }
}
