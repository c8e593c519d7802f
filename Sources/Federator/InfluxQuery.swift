import AsyncHTTPClient
import Diagnostics
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// One value of an InfluxQL result row.
public enum InfluxValue: Sendable, Equatable, Decodable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// The value when it is a finite number.
    public var number: Double? {
        if case .number(let value) = self, value.isFinite { return value }
        return nil
    }
}

/// One series of an InfluxQL result: a measurement, the GROUP BY tag values, and rows.
public struct InfluxSeries: Sendable, Equatable, Decodable {
    /// Measurement name.
    public var name: String
    /// GROUP BY tags; a tag a series lacks is present with the value "".
    public var tags: [String: String]
    /// Column names, "time" first.
    public var columns: [String]
    /// Rows, each with one value per column.
    public var values: [[InfluxValue]]

    private enum CodingKeys: String, CodingKey { case name, tags, columns, values }

    /// A series as given.
    public init(name: String, tags: [String: String], columns: [String], values: [[InfluxValue]]) {
        self.name = name
        self.tags = tags
        self.columns = columns
        self.values = values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        tags = try container.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
        columns = try container.decodeIfPresent([String].self, forKey: .columns) ?? []
        values = try container.decodeIfPresent([[InfluxValue]].self, forKey: .values) ?? []
    }

    /// The value of `column` in `row`, `.null` when the column or row is missing.
    public func value(_ column: String, row: Int) -> InfluxValue {
        guard let index = columns.firstIndex(of: column), row < values.count, index < values[row].count else { return .null }
        return values[row][index]
    }
}

/// Decodes InfluxDB 1.x `/query` answers: a whole body, or one line of a chunked one.
public enum InfluxQueryResponse {
    private struct Envelope: Decodable {
        var results: [Result]?
        var error: String?
    }

    private struct Result: Decodable {
        var series: [InfluxSeries]?
        var error: String?
    }

    /// The series of the (single) statement in `document`; throws the error InfluxDB
    /// reported (an unknown database, a query it cannot parse) or a description of a
    /// body that is not its JSON.
    public static func parse(_ document: Data) throws -> [InfluxSeries] {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: document)
        } catch {
            throw FederatorError(
                description: "influxdb answered something that is not query JSON: \(HTTPExchange.excerpt(String(decoding: document.prefix(200), as: UTF8.self)))",
                retryable: false)
        }
        if let message = envelope.error ?? envelope.results?.first(where: { $0.error != nil })?.error {
            throw FederatorError(description: "influxdb: \(message)", retryable: false)
        }
        return (envelope.results ?? []).flatMap { $0.series ?? [] }
    }

    /// Splits a chunked answer (JSON documents separated by newlines) into documents as
    /// its bytes arrive, holding at most one unfinished document.
    public struct DocumentSplitter {
        private var pending: [UInt8] = []
        /// A document longer than this is refused rather than buffered.
        public let maxDocumentBytes: Int

        /// A splitter refusing documents over `maxDocumentBytes`.
        public init(maxDocumentBytes: Int = 64 << 20) {
            self.maxDocumentBytes = maxDocumentBytes
        }

        /// The documents completed by `bytes`.
        public mutating func append(_ bytes: some Sequence<UInt8>) throws -> [Data] {
            var documents: [Data] = []
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    if !pending.isEmpty { documents.append(Data(pending)) }
                    pending.removeAll(keepingCapacity: true)
                } else {
                    pending.append(byte)
                }
            }
            if pending.count > maxDocumentBytes {
                throw FederatorError(description: "influxdb sent a result chunk over \(maxDocumentBytes >> 20) MiB; lower the chunk size", retryable: false)
            }
            return documents
        }

        /// The last document, when the answer did not end with a newline.
        public mutating func finish() -> Data? {
            defer { pending = [] }
            return pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) ? Data(pending) : nil
        }
    }
}

/// An InfluxDB 1.x server to read the federated data from.
public struct InfluxQueryTarget: Sendable, Equatable {
    /// Base URL, e.g. http://127.0.0.1:8086.
    public var address: String
    /// Database the federator writes to.
    public var database: String
    /// User name for InfluxDB authentication; empty for none.
    public var username: String
    /// Password for InfluxDB authentication.
    public var password: String

    /// A target as configured.
    public init(address: String, database: String, username: String = "", password: String = "") {
        self.address = address
        self.database = database
        self.username = username
        self.password = password
    }

    /// The URL running `statement`, with times as Unix seconds and the answer in chunks of
    /// `chunkSize` rows.
    public func queryURL(_ statement: String, chunkSize: Int) -> String {
        let base = address.hasSuffix("/") ? String(address.dropLast()) : address
        return base + "/query?db=" + percentEncode(database) + "&epoch=s&chunked=true&chunk_size=\(max(1, chunkSize))&q=" + percentEncode(statement)
    }

    /// HTTP basic authentication, which InfluxDB 1.x accepts in place of u= and p=.
    public var authorization: String? {
        guard !username.isEmpty else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }
}

/// Runs InfluxQL statements against InfluxDB 1.x and streams the series back.
public struct InfluxQueryClient: Sendable {
    private let client: HTTPClient
    private let target: InfluxQueryTarget
    private let chunkSize: Int
    private let logger: Logger

    /// A client using `client` (owned by the caller); InfluxDB sends `chunkSize` rows per chunk.
    public init(client: HTTPClient, target: InfluxQueryTarget, chunkSize: Int = 10_000, logger: Logger) {
        self.client = client
        self.target = target
        self.chunkSize = chunkSize
        self.logger = logger
    }

    /// Runs `statement` and hands each chunk's series to `consume` as it arrives, so memory
    /// holds one chunk however large the result. Connection problems and 5xx answers are
    /// retried until `deadline`, but only before the first chunk was handed over.
    public func query(
        _ statement: String, deadline: ContinuousClock.Instant,
        isolation: isolated (any Actor)? = #isolation,
        consume: ([InfluxSeries]) async throws -> Void
    ) async throws {
        var delivered = false
        try await HTTPExchange.retrying("influxdb query", deadline: deadline, logger: logger) { attemptDeadline in
            var request = HTTPClientRequest(url: target.queryURL(statement, chunkSize: chunkSize))
            if let authorization = target.authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response = try await HTTPExchange.execute(client, request, server: "influxdb", deadline: attemptDeadline)
            guard response.status == .ok else {
                let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
                throw Self.statusError(response.status, body: body, address: target.address)
            }
            var splitter = InfluxQueryResponse.DocumentSplitter()
            do {
                for try await buffer in response.body {
                    for document in try splitter.append(buffer.readableBytesView) {
                        delivered = true
                        try await consume(try InfluxQueryResponse.parse(document))
                    }
                }
            } catch let error as FederatorError where error.retryable && delivered {
                throw FederatorError(description: error.description, retryable: false)
            } catch let error as FederatorError {
                throw error
            } catch let error as CancellationError {
                throw error
            } catch {
                throw FederatorError(description: "influxdb answer cut short: \(error)", retryable: !delivered)
            }
            if let last = splitter.finish() {
                delivered = true
                try await consume(try InfluxQueryResponse.parse(last))
            }
        }
    }

    static func statusError(_ status: HTTPResponseStatus, body: String, address: String) -> FederatorError {
        if status == .unauthorized || status == .forbidden {
            return FederatorError(
                description: "influxdb at \(redactedURL(address)) refused the credentials (\(status.code)): check -influxdb-username and -influxdb-password",
                retryable: false)
        }
        var message = body
        if let data = body.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let error = object["error"] as? String {
            message = error
        }
        let excerpt = HTTPExchange.excerpt(message)
        return FederatorError(
            description: "influxdb answered \(status.code) \(status.reasonPhrase)" + (excerpt.isEmpty ? "" : ": " + excerpt),
            retryable: status.code >= 500 || status.code == 429)
    }
}
