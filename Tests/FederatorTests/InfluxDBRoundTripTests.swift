import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing
@testable import Federator

#if canImport(Glibc)
import Glibc
#endif

/// The line protocol encoder and the InfluxDB sink against a real InfluxDB 1.x (Debian's
/// `influxd`, started on loopback for the suite): every special character in every kind
/// of token must be stored and read back exactly, except the documented stand-ins.
@Suite(.serialized, .enabled(if: InfluxDBServer.binary != nil, "needs influxd (apt-get install influxdb)"))
struct InfluxDBRoundTripTests {
    /// Strings holding what line protocol treats specially.
    static let specials = [
        "a,b", "a b", "a=b", "a\"b", "a\\b", "evil\\", "a\\,b", "a\\ b", "a\\=b", "x\\ y\\=z\"w",
        "l\nf", "c\rr", "t\tt", "ü#", "a\\\\,b", "a\\\\", "\\",
    ]

    /// A measurement name holding `text`, unless it has a backslash: InfluxDB 1.x unescapes
    /// measurement names twice (`g\"h` comes back as `g"h`), and the federator's are constants.
    static func measurement(_ index: Int, _ text: String) -> String {
        "m\(index)" + (text.contains("\\") ? "" : text)
    }

    /// What InfluxDB stores for a measurement name, tag key, tag value or field key: the
    /// stand-ins of docs/federator.md.
    static func stored(_ text: String) -> String {
        let table: [String: String] = [
            "evil\\": "evil/", "a\\,b": "a/,b", "a\\ b": "a/ b", "l\nf": "l\\nf", "a\\\\,b": "a\\/,b", "a\\\\": "a\\/", "\\": "/",
        ]
        if let value = table[text] { return value }
        switch text {
        case "a\\=b": return "a/=b"
        case "x\\ y\\=z\"w": return "x/ y/=z\"w"
        default: return text.replacingOccurrences(of: "\n", with: "\\n")
        }
    }

    @Test func everySpecialCharacterInEveryToken() async throws {
        let server = try await InfluxDBServer.start()
        defer { server.stop() }
        try await server.query("CREATE DATABASE special", method: .POST)
        let sink = server.sink(database: "special", batchSize: 5)
        let points = Self.specials.enumerated().map { index, text in
            Point(measurement: Self.measurement(index, text), tags: [("k" + text, text), ("plain", "p")], field: "f" + text,
                  fieldValue: .string(text), timestampNanoseconds: Int64(index + 1) * 1_000_000_000)
        }
        await sink.add(points: points, deadline: .now + .seconds(20))
        let result = await sink.finish(deadline: .now + .seconds(20))
        #expect(result == SinkResult(written: points.count))

        let answer = try await server.query("SELECT * FROM /.*/", database: "special")
        var rows: [String: [String: String]] = [:]
        for series in try #require(answer["series"] as? [[String: Any]]) {
            let columns = try #require(series["columns"] as? [String])
            let values = try #require((series["values"] as? [[Any]])?.first)
            var row: [String: String] = [:]
            for (column, value) in zip(columns, values) where column != "time" {
                if let text = value as? String { row[column] = text }
            }
            rows[try #require(series["name"] as? String)] = row
        }
        for (index, text) in Self.specials.enumerated() {
            let name = Self.stored(text)
            let row: [String: String] = rows[Self.stored(Self.measurement(index, text))] ?? [:]
            let tag: String? = row["k" + name]
            let field: String? = row["f" + name]
            #expect(tag == name, "tag \(text.debugDescription)")
            #expect(field == text, "string field \(text.debugDescription)")
            #expect(row["plain"] == "p", "tag after \(text.debugDescription)")
        }
        #expect(rows.count == Self.specials.count)
    }

    @Test func partialWriteCountsWhatWasStoredAndWhatWasNot() async throws {
        let server = try await InfluxDBServer.start()
        defer { server.stop() }
        try await server.query("CREATE DATABASE partial", method: .POST)
        let sink = server.sink(database: "partial", batchSize: 4)
        // A string field first: float points of the same measurement and shard then conflict.
        await sink.add(points: [Point(measurement: "ingress", tags: [], field: "bandwidth_bps", fieldValue: .string("x"), timestampNanoseconds: 1)],
                       deadline: .now + .seconds(20))
        #expect(await sink.finish(deadline: .now + .seconds(20)) == SinkResult(written: 1))
        let points: [Point] = (0..<10).map { (index: Int) -> Point in
            let measurement = index % 3 == 0 ? "ingress" : "egress"
            let tags: [(key: String, value: String)] = [("service", "s\(index)")]
            return Point(measurement: measurement, tags: tags, field: "bandwidth_bps", value: Double(index),
                         timestampNanoseconds: Int64(index + 2))
        }
        await sink.add(points: points, deadline: .now + .seconds(20))
        let result = await sink.finish(deadline: .now + .seconds(20))
        // Points 0, 3, 6, 9 go to ingress and are refused; three batches: 4, 4 and 2 points.
        #expect(result.written == 6)
        #expect(result.rejected == 4)
        #expect(result.unwritten == 0)
        #expect(result.failures.count == 3)
        #expect(result.failures.allSatisfy { $0.contains("field type conflict") })
        let answer = try await server.query(#"SELECT COUNT("bandwidth_bps") FROM "egress""#, database: "partial")
        let series = try #require((answer["series"] as? [[String: Any]])?.first)
        #expect((series["values"] as? [[Any]])?.first?[1] as? Int == 6)
    }
}

extension SinkResult {
    init(written: Int) {
        self.init()
        self.written = written
    }
}

/// A real influxd on two free loopback ports with its data in a temporary directory.
final class InfluxDBServer {
    static let binary: String? = ["/usr/bin/influxd", "/usr/local/bin/influxd"].first { FileManager.default.isExecutableFile(atPath: $0) }

    let port: Int
    let directory: URL
    let process: Process
    let client: HTTPClient

    private init(port: Int, directory: URL, process: Process, client: HTTPClient) {
        self.port = port
        self.directory = directory
        self.process = process
        self.client = client
    }

    static func start() async throws -> InfluxDBServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("federator-influxd-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try freePort()
        let config = """
            reporting-disabled = true
            bind-address = "127.0.0.1:\(try freePort())"
            [meta]
              dir = "\(directory.path)/meta"
            [data]
              dir = "\(directory.path)/data"
              wal-dir = "\(directory.path)/wal"
              query-log-enabled = false
            [http]
              bind-address = "127.0.0.1:\(port)"
              log-enabled = false
            [monitor]
              store-enabled = false
            [continuous_queries]
              enabled = false
            """
        try config.write(to: directory.appendingPathComponent("influxdb.conf"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary!)
        process.arguments = ["-config", directory.appendingPathComponent("influxdb.conf").path]
        process.standardOutput = FileHandle.nullDevice
        let log = directory.appendingPathComponent("influxd.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let server = InfluxDBServer(port: port, directory: directory, process: process, client: HTTPClient(eventLoopGroupProvider: .singleton))
        // Polls /ping for at most 120 s (a loaded machine starts it slowly); an influxd
        // that exits ends the wait at once.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline && process.isRunning {
            if let answer = try? await server.http.send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ping"), server: "influxdb", deadline: .now + .seconds(2)),
               answer.status.code == 204 {
                return server
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let exited = !process.isRunning
        server.stop()
        let said = (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: " | ") ?? ""
        throw FederatorError(description: "influxd \(exited ? "exited" : "did not answer /ping within 120 s"): \(said)")
    }

    var http: HTTPExchange { HTTPExchange(client: client, logger: Logger(label: "test")) }

    func sink(database: String, batchSize: Int) -> InfluxSink {
        InfluxSink(target: InfluxTarget(address: "http://127.0.0.1:\(port)", bucket: database, org: "", token: ""),
                   choice: .auto, batchSize: batchSize, http: http, logger: Logger(label: "test"))
    }

    /// The first result of an InfluxQL query, as JSON.
    @discardableResult
    func query(_ text: String, database: String = "", method: HTTPMethod = .GET) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/query?db=\(percentEncode(database))&q=\(percentEncode(text))")
        request.method = method
        let answer = try await http.send(request, server: "influxdb", deadline: .now + .seconds(20))
        try HTTPExchange.check(answer, server: "influxdb")
        let json = try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? [String: Any]
        return (json?["results"] as? [[String: Any]])?.first ?? [:]
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? client.syncShutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A TCP port nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw FederatorError(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
