import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A BigQuery dataset reached through the REST API v2.
public struct BigQueryTarget: Sendable, Equatable {
    /// The real API.
    public static let defaultEndpoint = "https://bigquery.googleapis.com"
    /// Base URL of the API (the real one, or an emulator's).
    public var endpoint: String
    /// Project holding the dataset.
    public var projectID: String
    /// Dataset holding the tables; it must exist.
    public var datasetID: String

    /// A target as configured.
    public init(endpoint: String = defaultEndpoint, projectID: String, datasetID: String) {
        self.endpoint = endpoint
        self.projectID = projectID
        self.datasetID = datasetID
    }

    var datasetURL: String {
        let base = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        return base + "/bigquery/v2/projects/" + percentEncode(projectID) + "/datasets/" + percentEncode(datasetID)
    }

    func tableURL(_ tableID: String) -> String { datasetURL + "/tables/" + percentEncode(tableID) }

    func insertAllURL(_ tableID: String) -> String { tableURL(tableID) + "/insertAll" }

    /// project:dataset, as the bq tool names a dataset.
    public var datasetName: String { "\(projectID):\(datasetID)" }

    /// project:dataset.table, as the bq tool names a table.
    public func tableName(_ tableID: String) -> String { "\(datasetName).\(tableID)" }
}

/// A column of a table the writer creates.
public struct BigQueryField: Sendable, Equatable, Codable {
    /// Column name.
    public var name: String
    /// STRING, INTEGER or DATETIME.
    public var type: String
    /// REQUIRED or NULLABLE.
    public var mode: String
    /// What the column holds, shown in the BigQuery console.
    public var description: String?

    /// A column with every property given.
    public init(name: String, type: String, mode: String, description: String? = nil) {
        self.name = name
        self.type = type
        self.mode = mode
        self.description = description
    }
}

/// One cell of a row to insert.
public enum BigQueryValue: Sendable, Equatable {
    case string(String)
    /// Sent as a JSON string, so that values past 2^53 survive JSON readers.
    case integer(Int64)
    case null
}

/// A row for tabledata.insertAll, with the insertId that makes a retried request safe.
public struct BigQueryRow: Sendable, Equatable {
    /// Deduplication key: BigQuery drops a row whose insertId it saw in the last minutes.
    public var insertID: String
    /// Column names and values, in table order.
    public var cells: [BigQueryCell]

    /// A row as given.
    public init(insertID: String, cells: [BigQueryCell]) {
        self.insertID = insertID
        self.cells = cells
    }

    /// The value of `column`, nil when the row has no such column.
    public subscript(column: String) -> BigQueryValue? {
        cells.first(where: { $0.name == column })?.value
    }

    /// The row as one element of insertAll's "rows": {"insertId":...,"json":{...}}.
    public var json: String {
        var text = "{\"insertId\":" + BigQueryJSON.string(insertID) + ",\"json\":{"
        for (index, cell) in cells.enumerated() {
            if index > 0 { text += "," }
            text += BigQueryJSON.string(cell.name) + ":"
            switch cell.value {
            case .string(let value): text += BigQueryJSON.string(value)
            case .integer(let value): text += "\"\(value)\""
            case .null: text += "null"
            }
        }
        return text + "}}"
    }
}

/// A named value of a ``BigQueryRow``.
public struct BigQueryCell: Sendable, Equatable {
    /// Column name.
    public var name: String
    /// Its value.
    public var value: BigQueryValue

    /// A cell as given.
    public init(_ name: String, _ value: BigQueryValue) {
        self.name = name
        self.value = value
    }
}

/// JSON text for the request bodies the writer builds by hand.
enum BigQueryJSON {
    /// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
    static func string(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Groups rows into insertAll request bodies under the API's limits.
public struct InsertAllBatcher: Sendable {
    /// Google's recommended maximum of rows per request.
    public static let defaultMaxRows = 500
    /// Under the API's 10 MB limit on one HTTP request, with room for the envelope.
    public static let defaultMaxBytes = 9_000_000

    /// Rows per request at most.
    public let maxRows: Int
    /// Bytes of the request body at most.
    public let maxBytes: Int
    private var rows: [String] = []
    private var bytes = 0

    private static let head = "{\"kind\":\"bigquery#tableDataInsertAllRequest\",\"skipInvalidRows\":false,\"ignoreUnknownValues\":false,\"rows\":["
    private static let tail = "]}"

    /// A batcher with the given limits.
    public init(maxRows: Int = defaultMaxRows, maxBytes: Int = defaultMaxBytes) {
        self.maxRows = max(1, maxRows)
        self.maxBytes = maxBytes
    }

    /// Rows held and not yet returned in a batch.
    public var pendingRows: Int { rows.count }

    /// Adds one row's JSON; returns the batch that had to be closed first to stay within
    /// the limits, if any. Throws for a row that alone would exceed `maxBytes`.
    public mutating func add(_ rowJSON: String) throws -> InsertAllBatch? {
        let size = rowJSON.utf8.count
        guard Self.head.utf8.count + size + Self.tail.utf8.count <= maxBytes else {
            throw FederatorError(description: "a row of \(size) bytes is over the \(maxBytes)-byte request limit", retryable: false)
        }
        var closed: InsertAllBatch?
        if !rows.isEmpty && (rows.count >= maxRows || Self.head.utf8.count + bytes + 1 + size + Self.tail.utf8.count > maxBytes) {
            closed = flush()
        }
        bytes += (rows.isEmpty ? 0 : 1) + size
        rows.append(rowJSON)
        return closed
    }

    /// The rows held as one batch, nil when there are none.
    public mutating func flush() -> InsertAllBatch? {
        guard !rows.isEmpty else { return nil }
        defer { rows.removeAll(keepingCapacity: true); bytes = 0 }
        return InsertAllBatch(body: Self.head + rows.joined(separator: ",") + Self.tail, rows: rows.count)
    }
}

/// One insertAll request body and how many rows it carries.
public struct InsertAllBatch: Sendable, Equatable {
    /// The request body.
    public var body: String
    /// Rows in it.
    public var rows: Int
}

/// BigQuery's answers turned into one line each: what failed, what BigQuery said, what to do.
public enum BigQueryResponse {
    private struct ErrorEnvelope: Decodable {
        var error: ErrorBody?
    }

    private struct ErrorBody: Decodable {
        var code: Int?
        var message: String?
        var status: String?
        var errors: [ErrorItem]?
    }

    private struct ErrorItem: Decodable {
        var reason: String?
        var location: String?
        var message: String?
    }

    private struct InsertAllAnswer: Decodable {
        var insertErrors: [RowErrors]?
    }

    private struct RowErrors: Decodable {
        var index: Int?
        var errors: [ErrorItem]?
    }

    /// Reasons worth another attempt (Google's table of BigQuery error codes).
    static let retryableReasons: Set<String> = ["backendError", "internalError", "rateLimitExceeded", "tableUnavailable"]

    /// The error for a non-2xx answer to `action` (e.g. "insert rows into") on `resource`
    /// (e.g. "table p:d.t"); `dataset` names the dataset in advice.
    public static func error(status: Int, body: Data, action: String, resource: String, dataset: String) -> FederatorError {
        let decoded = (try? JSONDecoder().decode(ErrorEnvelope.self, from: body))?.error
        let reason = decoded?.errors?.first?.reason ?? ""
        var said = decoded?.message ?? decoded?.errors?.first?.message ?? HTTPExchange.excerpt(String(decoding: body.prefix(300), as: UTF8.self))
        said = HTTPExchange.excerpt(said)
        let quoted = said.isEmpty ? "" : ": \(said)"
        let retryable = status >= 500 || status == 429 || retryableReasons.contains(reason)
        let line: String
        switch (status, reason) {
        case (401, _):
            line = "BigQuery refused the credentials (401) to \(action) \(resource)\(quoted); check the service-account key or the instance's service account"
        case (403, "quotaExceeded"):
            line = "BigQuery quota exceeded to \(action) \(resource)\(quoted); see the project's BigQuery quotas, the next run tries again"
        case (403, "rateLimitExceeded"), (429, _):
            line = "BigQuery rate limit exceeded to \(action) \(resource)\(quoted)"
        case (403, "billingNotEnabled"):
            line = "BigQuery refused to \(action) \(resource): billing is not enabled for the project\(quoted)"
        case (403, _):
            line = "permission denied to \(action) \(resource)\(quoted); give the account BigQuery Data Editor (roles/bigquery.dataEditor) on dataset \(dataset)"
        case (404, _):
            line = "\(resource) not found (404) to \(action)\(quoted)"
        default:
            line = "BigQuery answered \(status) to \(action) \(resource)" + (reason.isEmpty ? "" : " (\(reason))") + quoted
        }
        return FederatorError(description: line, retryable: retryable)
    }

    /// Checks a 2xx insertAll answer: throws one line for rows BigQuery refused, naming
    /// the first row with its own error (the others of the batch are only "stopped").
    public static func checkInsertAll(body: Data, rows: Int, table: String) throws {
        guard let answer = try? JSONDecoder().decode(InsertAllAnswer.self, from: body) else {
            throw FederatorError(
                description: "BigQuery answered insertAll for \(table) with something that is not its JSON: \(HTTPExchange.excerpt(String(decoding: body.prefix(200), as: UTF8.self)))",
                retryable: false)
        }
        guard let failures = answer.insertErrors, !failures.isEmpty else { return }
        let culprit = failures.first(where: { $0.errors?.contains(where: { $0.reason != "stopped" }) ?? false }) ?? failures[0]
        let item = culprit.errors?.first(where: { $0.reason != "stopped" }) ?? culprit.errors?.first
        var detail = "row \(culprit.index ?? 0): \(item?.reason ?? "invalid")"
        if let location = item?.location, !location.isEmpty { detail += " in column \(location)" }
        if let message = item?.message, !message.isEmpty { detail += ": " + HTTPExchange.excerpt(message) }
        throw FederatorError(
            description: "BigQuery refused \(failures.count) of \(rows) rows for \(table) (\(detail)); does the table have the columns this tool writes?",
            retryable: false)
    }

    /// The column names of a tables.get answer.
    static func columnNames(tableBody: Data) -> [String] {
        // BigQuery leaves out a field's mode when it is NULLABLE: read the names only.
        struct Table: Decodable {
            struct Field: Decodable { var name: String }
            struct Schema: Decodable { var fields: [Field]? }
            var schema: Schema?
        }
        return ((try? JSONDecoder().decode(Table.self, from: tableBody))?.schema?.fields ?? []).map(\.name)
    }
}

/// The BigQuery calls the exporter makes: check the dataset, create missing tables,
/// stream rows with insertAll. Retries what may pass later until the job's deadline.
public actor BigQueryClient {
    private let client: HTTPClient
    private let target: BigQueryTarget
    private let tokens: AccessTokenProvider
    private let logger: Logger
    private var readyTables: Set<String> = []

    /// A client for `target` using `client` (owned by the caller) and `tokens`.
    public init(client: HTTPClient, target: BigQueryTarget, tokens: AccessTokenProvider, logger: Logger) {
        self.client = client
        self.target = target
        self.tokens = tokens
        self.logger = logger
    }

    /// Makes sure `tableID` exists with at least the columns of `fields`, creating it in
    /// the dataset when missing. The dataset itself must exist. Remembered once done.
    public func prepareTable(_ tableID: String, fields: [BigQueryField], deadline: ContinuousClock.Instant) async throws {
        guard !readyTables.contains(tableID) else { return }
        let table = "table " + target.tableName(tableID)
        let dataset = "dataset " + target.datasetName
        let (status, body) = try await call(.GET, target.tableURL(tableID), body: nil, action: "read", resource: table, deadline: deadline, passing: [404])
        if status == 404 {
            let (datasetStatus, _) = try await call(.GET, target.datasetURL, body: nil, action: "read", resource: dataset, deadline: deadline, passing: [404])
            guard datasetStatus != 404 else {
                throw FederatorError(
                    description: "\(dataset) does not exist: create it first (bq mk --dataset \(target.datasetName)); this tool creates tables, not datasets",
                    retryable: false)
            }
            let create = try Self.tableResource(target: target, tableID: tableID, fields: fields)
            let (createStatus, _) = try await call(.POST, target.datasetURL + "/tables", body: create, action: "create", resource: table, deadline: deadline, passing: [409])
            logger.info(createStatus == 409 ? "table created meanwhile" : "created table", metadata: ["table": "\(target.tableName(tableID))"])
        } else {
            let present = Set(BigQueryResponse.columnNames(tableBody: body))
            let missing = fields.map(\.name).filter { !present.contains($0) }
            guard missing.isEmpty else {
                throw FederatorError(
                    description: "\(table) lacks the columns \(missing.joined(separator: ", ")): add them, or name another table",
                    retryable: false)
            }
        }
        readyTables.insert(tableID)
    }

    /// Sends one insertAll request; throws for refused rows or a failed call.
    public func insertAll(_ tableID: String, batch: InsertAllBatch, deadline: ContinuousClock.Instant) async throws {
        let table = "table " + target.tableName(tableID)
        let (status, body) = try await call(
            .POST, target.insertAllURL(tableID), body: batch.body, action: "insert rows into", resource: table,
            deadline: deadline, passing: [404])
        guard status != 404 else {
            // Dropped while running: the next run creates it again.
            readyTables.remove(tableID)
            let error = BigQueryResponse.error(status: status, body: body, action: "insert rows into", resource: table, dataset: target.datasetName)
            throw FederatorError(description: error.description + "; it was deleted meanwhile and is created again at the next run", retryable: false)
        }
        try BigQueryResponse.checkInsertAll(body: body, rows: batch.rows, table: target.tableName(tableID))
    }

    /// The JSON of a tables.insert request.
    static func tableResource(target: BigQueryTarget, tableID: String, fields: [BigQueryField]) throws -> String {
        struct Reference: Encodable { var projectId: String; var datasetId: String; var tableId: String }
        struct Schema: Encodable { var fields: [BigQueryField] }
        struct Table: Encodable { var tableReference: Reference; var schema: Schema }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let table = Table(tableReference: Reference(projectId: target.projectID, datasetId: target.datasetID, tableId: tableID), schema: Schema(fields: fields))
        return String(decoding: try encoder.encode(table), as: UTF8.self)
    }

    /// One API call with retries; returns the status and body of a 2xx answer or of a
    /// status in `passing`. A 401 drops the cached token and is tried once more.
    private func call(
        _ method: HTTPMethod, _ url: String, body: String?, action: String, resource: String,
        deadline: ContinuousClock.Instant, passing: Set<Int> = []
    ) async throws -> (Int, Data) {
        var refreshed = false
        return try await HTTPExchange.retrying("bigquery: \(action) \(resource)", deadline: deadline, logger: logger) { attemptDeadline in
            var request = HTTPClientRequest(url: url)
            request.method = method
            if let authorization = try await tokens.authorization(deadline: deadline) {
                request.headers.add(name: "Authorization", value: authorization)
            }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await HTTPExchange.execute(client, request, server: "bigquery", deadline: attemptDeadline)
            let data = Data(try await response.body.collect(upTo: 64 << 20).readableBytesView)
            let status = Int(response.status.code)
            if (200..<300).contains(status) || passing.contains(status) { return (status, data) }
            var error = BigQueryResponse.error(status: status, body: data, action: action, resource: resource, dataset: target.datasetName)
            if status == 401 && !refreshed {
                refreshed = true
                await tokens.invalidate()
                error = FederatorError(description: error.description, retryable: true)
            }
            throw error
        }
    }
}
