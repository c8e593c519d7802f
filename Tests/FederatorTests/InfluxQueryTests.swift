import Foundation
import Testing
@testable import Federator

@Suite struct InfluxQueryTests {
    // Shaped as InfluxDB 1.x answers a chunked GROUP BY query (epoch=s).
    static let chunk = #"""
    {"results":[{"statement_id":0,"series":[{"name":"egress","tags":{"address":"","remote_address":"db.service.consul","remote_service":"db","service":"api"},"columns":["time","min","max","mean"],"values":[[1700000000,1200.5,98000,4521.25]]},{"name":"ingress","tags":{"address":"api.service.consul","remote_address":"","remote_service":"","service":"api"},"columns":["time","min","max","mean"],"values":[[1700000000,null,null,null]]}],"partial":true}]}
    """#

    @Test func parsesSeriesTagsAndValues() throws {
        let series = try InfluxQueryResponse.parse(Data(Self.chunk.utf8))
        #expect(series.count == 2)
        #expect(series[0] == InfluxSeries(
            name: "egress",
            tags: ["address": "", "remote_address": "db.service.consul", "remote_service": "db", "service": "api"],
            columns: ["time", "min", "max", "mean"],
            values: [[.number(1_700_000_000), .number(1200.5), .number(98000), .number(4521.25)]]))
        #expect(series[0].value("mean", row: 0) == .number(4521.25))
        #expect(series[0].value("count", row: 0) == .null)
        #expect(series[0].value("min", row: 1) == .null)
        #expect(series[1].value("min", row: 0) == .null)
    }

    @Test func emptyResultIsNoSeries() throws {
        #expect(try InfluxQueryResponse.parse(Data(#"{"results":[{"statement_id":0}]}"#.utf8)).isEmpty)
    }

    @Test(arguments: [
        (#"{"results":[{"statement_id":0,"error":"database not found: mothership"}]}"#, "influxdb: database not found: mothership"),
        (#"{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}"#, "influxdb: error parsing query: found EOF, expected FROM at line 1, char 9"),
        ("<html>bad gateway</html>", "influxdb answered something that is not query JSON: <html>bad gateway</html>"),
    ])
    func errorsAreOneLine(text: String, message: String) {
        #expect(failure {
            _ = try InfluxQueryResponse.parse(Data(text.utf8))
        } == Failure(message))
    }

    @Test func splitterFindsDocumentsAcrossAnyCut() throws {
        let documents = [#"{"results":[{"statement_id":0}]}"#, Self.chunk, #"{"results":[]}"#]
        let stream = Array(documents.joined(separator: "\n").utf8) + Array("\n".utf8)
        for cut in [1, 2, 7, 64, 300, stream.count] {
            var splitter = InfluxQueryResponse.DocumentSplitter()
            var found: [String] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + cut)
                found += try splitter.append(stream[start..<end]).map { String(decoding: $0, as: UTF8.self) }
                start = end
            }
            #expect(splitter.finish() == nil)
            #expect(found == documents, "cut every \(cut) bytes")
        }
        var unterminated = InfluxQueryResponse.DocumentSplitter()
        #expect(try unterminated.append(Array("{\"a\":1}\n{\"b\":2}".utf8)).map { String(decoding: $0, as: UTF8.self) } == [#"{"a":1}"#])
        #expect(unterminated.finish().map { String(decoding: $0, as: UTF8.self) } == #"{"b":2}"#)
    }

    @Test func splitterRefusesAnOversizedDocument() throws {
        var splitter = InfluxQueryResponse.DocumentSplitter(maxDocumentBytes: 16)
        #expect(try splitter.append(Array("{\"short\":1}\n".utf8)).count == 1)
        #expect(throws: FederatorError.self) { try splitter.append(Array(repeating: UInt8(ascii: "x"), count: 17)) }
    }

    @Test func queryURLAndAuthorization() {
        let target = InfluxQueryTarget(address: "http://127.0.0.1:8086/", database: "mother ship", username: "planet", password: "s3cr:t")
        #expect(target.queryURL("SELECT 1 FROM \"x\" WHERE a != ''", chunkSize: 500)
            == "http://127.0.0.1:8086/query?db=mother%20ship&epoch=s&chunked=true&chunk_size=500&q=SELECT%201%20FROM%20%22x%22%20WHERE%20a%20%21%3D%20%27%27")
        #expect(target.authorization == "Basic " + Data("planet:s3cr:t".utf8).base64EncodedString())
        #expect(InfluxQueryTarget(address: "http://h:1", database: "d").authorization == nil)
    }

    @Test func statusErrorsSayWhatToDo() {
        #expect(Failure(InfluxQueryClient.statusError(.unauthorized, body: #"{"error":"authorization failed"}"#, address: "http://i:8086"))
            == Failure("influxdb at http://i:8086 refused the credentials (401): check -influxdb-username and -influxdb-password", retryable: false))
        #expect(Failure(InfluxQueryClient.statusError(.badRequest, body: #"{"error":"error parsing query: bad"}"#, address: "http://i:8086"))
            == Failure("influxdb answered 400 Bad Request: error parsing query: bad", retryable: false))
        #expect(Failure(InfluxQueryClient.statusError(.serviceUnavailable, body: "", address: "http://i:8086"))
            == Failure("influxdb answered 503 Service Unavailable", retryable: true))
    }
}
