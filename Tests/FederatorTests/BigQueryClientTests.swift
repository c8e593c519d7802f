import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
@testable import Federator

@Suite struct BigQueryClientTests {
    static let target = BigQueryTarget(endpoint: "http://127.0.0.1:1/", projectID: "my-project", datasetID: "planet")

    @Test func urlsAndNames() {
        #expect(Self.target.datasetURL == "http://127.0.0.1:1/bigquery/v2/projects/my-project/datasets/planet")
        #expect(Self.target.insertAllURL("t 1") == "http://127.0.0.1:1/bigquery/v2/projects/my-project/datasets/planet/tables/t%201/insertAll")
        #expect(Self.target.tableName("traffic") == "my-project:planet.traffic")
    }

    @Test func jsonStringsAreEscaped() throws {
        let nasty = "a\"b\\c\nd\u{1}e\té\u{7f}"
        let literal = BigQueryJSON.string(nasty)
        #expect(literal == #""a\"b\\c\nd\u0001e\té\#u{7f}""#)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(decoded == [nasty])
    }

    static func row(_ index: Int, padding: Int = 0) -> String {
        BigQueryRow(insertID: "id\(index)", cells: [BigQueryCell("n", .integer(Int64(index))), BigQueryCell("s", .string(String(repeating: "x", count: padding)))]).json
    }

    @Test func batchesStopAtTheRowLimit() throws {
        var batcher = InsertAllBatcher(maxRows: 500)
        var batches: [InsertAllBatch] = []
        for index in 0..<1203 {
            if let full = try batcher.add(Self.row(index)) { batches.append(full) }
        }
        if let last = batcher.flush() { batches.append(last) }
        #expect(batches.map(\.rows) == [500, 500, 203])
        #expect(batcher.flush() == nil)
        var seen: [Int] = []
        for batch in batches {
            #expect(batch.body.utf8.count <= InsertAllBatcher.defaultMaxBytes)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(batch.body.utf8)) as? [String: Any])
            #expect(object["kind"] as? String == "bigquery#tableDataInsertAllRequest")
            #expect(object["skipInvalidRows"] as? Bool == false)
            let rows = try #require(object["rows"] as? [[String: Any]])
            #expect(rows.count == batch.rows)
            for row in rows {
                let json = try #require(row["json"] as? [String: Any])
                let number = try #require(Int(json["n"] as? String ?? ""))
                #expect(row["insertId"] as? String == "id\(number)")
                seen.append(number)
            }
        }
        #expect(seen == Array(0..<1203), "every row once, in order")
    }

    @Test func batchesStopAtTheByteLimit() throws {
        // Rows of ~1 KB under a 10 KB limit: nine fit, the tenth would not.
        var batcher = InsertAllBatcher(maxRows: 500, maxBytes: 10_000)
        var batches: [InsertAllBatch] = []
        for index in 0..<25 {
            if let full = try batcher.add(Self.row(index, padding: 1000)) { batches.append(full) }
        }
        if let last = batcher.flush() { batches.append(last) }
        let rowSize = Self.row(0, padding: 1000).utf8.count
        let perBatch = (10_000 - 107 + 1) / (rowSize + 1)
        #expect(batches.map(\.rows) == [perBatch, perBatch, 25 - 2 * perBatch])
        #expect(batches.allSatisfy { $0.body.utf8.count <= 10_000 })
        #expect(batches.dropLast().allSatisfy { $0.body.utf8.count + rowSize + 1 > 10_000 }, "a batch is closed only when the next row does not fit")
        #expect(throws: FederatorError.self) { try batcher.add(Self.row(99, padding: 20_000)) }
    }

    @Test func envelopeSizeUsedAbove() {
        var batcher = InsertAllBatcher()
        _ = try? batcher.add("{}")
        #expect(batcher.flush()?.body.utf8.count == 107 + 2)
    }

    static func body(_ status: Int, _ reason: String, _ message: String) -> Data {
        Data(#"{"error":{"code":\#(status),"message":"\#(message)","errors":[{"message":"\#(message)","domain":"global","reason":"\#(reason)"}],"status":"X"}}"#.utf8)
    }

    @Test(arguments: [
        (401, "authError", "Request had invalid authentication credentials.",
         "BigQuery refused the credentials (401) to insert rows into table p:d.t: Request had invalid authentication credentials.; check the service-account key or the instance's service account", false),
        (403, "accessDenied", "Access Denied: Table p:d.t: Permission bigquery.tables.updateData denied",
         "permission denied to insert rows into table p:d.t: Access Denied: Table p:d.t: Permission bigquery.tables.updateData denied; give the account BigQuery Data Editor (roles/bigquery.dataEditor) on dataset p:d", false),
        (403, "quotaExceeded", "Quota exceeded: Your table exceeded quota for imports or query appends per table.",
         "BigQuery quota exceeded to insert rows into table p:d.t: Quota exceeded: Your table exceeded quota for imports or query appends per table.; see the project's BigQuery quotas, the next run tries again", false),
        (403, "rateLimitExceeded", "Exceeded rate limits: too many api requests per user per method",
         "BigQuery rate limit exceeded to insert rows into table p:d.t: Exceeded rate limits: too many api requests per user per method", true),
        (404, "notFound", "Not found: Table p:d.t",
         "table p:d.t not found (404) to insert rows into: Not found: Table p:d.t", false),
        (400, "invalid", "Invalid table ID \\\"a b\\\".",
         "BigQuery answered 400 to insert rows into table p:d.t (invalid): Invalid table ID \"a b\".", false),
        (503, "backendError", "Error encountered during execution. Retrying may solve the problem.",
         "BigQuery answered 503 to insert rows into table p:d.t (backendError): Error encountered during execution. Retrying may solve the problem.", true),
    ])
    func apiErrorsAreOneLineEach(status: Int, reason: String, message: String, line: String, retryable: Bool) {
        let error = BigQueryResponse.error(status: status, body: Self.body(status, reason, message), action: "insert rows into", resource: "table p:d.t", dataset: "p:d")
        #expect(Failure(error) == Failure(line, retryable: retryable))
    }

    @Test func nonJSONErrorBodiesAreQuoted() {
        let error = BigQueryResponse.error(status: 502, body: Data("<html>\n<b>502</b>\n</html>".utf8), action: "read", resource: "dataset p:d", dataset: "p:d")
        #expect(Failure(error) == Failure("BigQuery answered 502 to read dataset p:d: <html> <b>502</b> </html>", retryable: true))
    }

    @Test func insertErrorsNameTheRowAtFault() throws {
        try BigQueryResponse.checkInsertAll(body: Data(#"{"kind":"bigquery#tableDataInsertAllResponse"}"#.utf8), rows: 3, table: "p:d.t")
        try BigQueryResponse.checkInsertAll(body: Data(#"{"kind":"bigquery#tableDataInsertAllResponse","insertErrors":[]}"#.utf8), rows: 3, table: "p:d.t")
        let refused = #"{"insertErrors":[{"index":0,"errors":[{"reason":"stopped","location":"","message":""}]},{"index":2,"errors":[{"reason":"invalid","location":"traffic_bandwidth_bits_max_1h","message":"Cannot convert value to integer."}]},{"index":1,"errors":[{"reason":"stopped"}]}]}"#
        #expect(failure {
            _ = try BigQueryResponse.checkInsertAll(body: Data(refused.utf8), rows: 3, table: "p:d.t")
        } == Failure("BigQuery refused 3 of 3 rows for p:d.t (row 2: invalid in column traffic_bandwidth_bits_max_1h: Cannot convert value to integer.); does the table have the columns this tool writes?"))
    }

    @Test func tableResourceCarriesTheSchema() throws {
        let text = try BigQueryClient.tableResource(target: Self.target, tableID: "t", fields: [BigQueryField(name: "a", type: "STRING", mode: "NULLABLE")])
        #expect(text == #"{"schema":{"fields":[{"mode":"NULLABLE","name":"a","type":"STRING"}]},"tableReference":{"datasetId":"planet","projectId":"my-project","tableId":"t"}}"#)
    }

    /// A stand-in for the few BigQuery calls prepareTable makes, accepting only the second
    /// token the token endpoint hands out: the first call gets a 401, the token is fetched
    /// again and the call succeeds.
    @Test func refusedTokenIsRefreshedOnceAndMissingTablesAreCreated() async throws {
        let log = Recorder()
        let router = Router()
        router.post("/token") { _, _ -> Response in
            await log.add("token")
            let count = await log.entries.filter { $0 == "token" }.count
            return jsonResponse(.ok, #"{"access_token":"t\#(count)","expires_in":3600}"#)
        }
        let base = "/bigquery/v2/projects/p/datasets/d"
        @Sendable func authorized(_ request: Request) -> Bool { request.headers[.authorization] == "Bearer t2" }
        router.get("\(base)/tables/:table") { request, context -> Response in
            await log.add("GET \(context.parameters.get("table") ?? "") \(request.headers[.authorization] ?? "")")
            guard authorized(request) else { return jsonResponse(.unauthorized, String(decoding: Self.body(401, "authError", "bad token"), as: UTF8.self)) }
            if context.parameters.get("table") == "old" {
                return jsonResponse(.ok, #"{"schema":{"fields":[{"name":"a","type":"STRING"}]}}"#)
            }
            return jsonResponse(.notFound, String(decoding: Self.body(404, "notFound", "Not found"), as: UTF8.self))
        }
        router.get(RouterPath(base)) { request, _ -> Response in
            await log.add("GET dataset")
            return authorized(request) ? jsonResponse(.ok, "{}") : jsonResponse(.unauthorized, "{}")
        }
        router.post("\(base)/tables") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            await log.add("CREATE \(body)")
            return jsonResponse(.ok, body)
        }
        try await withLocalServer(router) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let key = try ServiceAccountKey(json: try BigQueryAuthTests.keyFile(try Self.sharedKey(), tokenURI: "http://127.0.0.1:\(port)/token"), path: "k")
            let tokens = AccessTokenProvider(credentials: .serviceAccount(key), client: client, logger: Logger(label: "test"))
            let bigQuery = BigQueryClient(
                client: client, target: BigQueryTarget(endpoint: "http://127.0.0.1:\(port)", projectID: "p", datasetID: "d"),
                tokens: tokens, logger: Logger(label: "test"))
            let fields = [BigQueryField(name: "a", type: "STRING", mode: "NULLABLE"), BigQueryField(name: "b", type: "INTEGER", mode: "REQUIRED")]
            try await bigQuery.prepareTable("new", fields: fields, deadline: .now + .seconds(30))
            try await bigQuery.prepareTable("new", fields: fields, deadline: .now + .seconds(30))
            var oldTable = ""
            do {
                try await bigQuery.prepareTable("old", fields: fields, deadline: .now + .seconds(30))
            } catch {
                oldTable = "\(error)"
            }
            try await client.shutdown()
            #expect(oldTable == "table p:d.old lacks the columns b: add them, or name another table")
            let expectedCreate = try BigQueryClient.tableResource(
                target: BigQueryTarget(endpoint: "", projectID: "p", datasetID: "d"), tableID: "new", fields: fields)
            #expect(await log.entries == [
                "token", "GET new Bearer t1", "token", "GET new Bearer t2", "GET dataset", "CREATE \(expectedCreate)",
                "GET old Bearer t2",
            ])
        }
    }

    @Test func missingDatasetIsOneLine() async throws {
        let router = Router()
        router.get("/bigquery/v2/projects/p/datasets/gone/tables/t") { _, _ in jsonResponse(.notFound, "{}") }
        router.get("/bigquery/v2/projects/p/datasets/gone") { _, _ in jsonResponse(.notFound, "{}") }
        try await withLocalServer(router) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let tokens = AccessTokenProvider(credentials: .none, client: client, logger: Logger(label: "test"))
            let bigQuery = BigQueryClient(
                client: client, target: BigQueryTarget(endpoint: "http://127.0.0.1:\(port)", projectID: "p", datasetID: "gone"),
                tokens: tokens, logger: Logger(label: "test"))
            var message = ""
            do { try await bigQuery.prepareTable("t", fields: [], deadline: .now + .seconds(30)) } catch { message = "\(error)" }
            try await client.shutdown()
            #expect(message == "dataset p:gone does not exist: create it first (bq mk --dataset p:gone); this tool creates tables, not datasets")
        }
    }

    /// One openssl key for the tests that only need some valid key.
    static func sharedKey() throws -> String {
        let directory = try BigQueryAuthTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        return try BigQueryAuthTests.openSSLKey(in: directory).privatePEM
    }
}
