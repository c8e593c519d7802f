import Foundation
import Testing
@testable import Federator

@Suite struct PrometheusMatrixTests {
    @Test func parsesMatrix() throws {
        let body = #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"direction":"ingress","local_hostgroup":"a"},"values":[[1700000000,"8000"],[1700000030.5,"NaN"],[1700000060.123,"+Inf"]]},{"metric":{},"values":[]}]}}"#
        let series = try PrometheusMatrix.parse(Data(body.utf8))
        #expect(series.count == 2)
        #expect(series[0].labels == ["direction": "ingress", "local_hostgroup": "a"])
        #expect(series[0].samples.map(\.timestampMilliseconds) == [1_700_000_000_000, 1_700_000_030_500, 1_700_000_060_123])
        #expect(series[0].samples[0].value == 8000)
        #expect(series[0].samples[1].value.isNaN)
        #expect(series[0].samples[2].value == .infinity)
        #expect(series[1].samples.isEmpty)
    }

    @Test(arguments: [
        (#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#, "bad_data: parse error at char 3"),
        (#"{"status":"success","data":{"resultType":"vector","result":[]}}"#, "expected a matrix result, got vector"),
        ("<html>502 Bad Gateway</html>", "not Prometheus API JSON: <html>502"),
        (#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}"#, "\"x\" is not a number"),
        (#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1e300,"1"]]}]}}"#, "sample time 1e+300 is not a Unix time in seconds"),
    ])
    func rejects(body: String, message: String) {
        do {
            _ = try PrometheusMatrix.parse(Data(body.utf8))
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains(message))
        }
    }
}

@Suite struct MatrixStreamReaderTests {
    static let body = #"{"status":"success","data":{"resultType":"matrix","result":["#
        + #"{"metric":{"a":"x,\"}]\\","b":"{["},"values":[[1,"1"],[2,"2.5"]]},"#
        + #" {"metric":{},"values":[]} , {"metric":{"c":"d"},"values":[[3.5,"+Inf"]]}"#
        + #"]},"warnings":["w"]}"#

    @Test func anySplitOfTheBodyGivesTheSameSeries() throws {
        let whole = try PrometheusMatrix.parse(Data(Self.body.utf8))
        #expect(whole.count == 3)
        #expect(whole[0].labels == ["a": "x,\"}]\\", "b": "{["])
        #expect(whole[0].samples == [.init(timestampMilliseconds: 1000, value: 1), .init(timestampMilliseconds: 2000, value: 2.5)])
        #expect(whole[2].samples[0].timestampMilliseconds == 3500)
        let bytes = Array(Self.body.utf8)
        for split in 0...bytes.count {
            var reader = MatrixStreamReader()
            var series: [PrometheusSeries] = []
            try reader.feed(bytes[..<split]) { series.append($0) }
            try reader.feed(bytes[split...]) { series.append($0) }
            try reader.finish()
            #expect(series == whole, "split at \(split)")
        }
    }

    @Test func handsOverEachSeriesBeforeTheBodyEnds() throws {
        // The body up to the brace that closes the first series.
        let firstSeriesEnd = try #require(Self.body.range(of: "]]}"))
        let head = Array(Self.body[..<firstSeriesEnd.upperBound].utf8)
        var reader = MatrixStreamReader()
        var series: [PrometheusSeries] = []
        try reader.feed(head) { series.append($0) }
        #expect(series.map(\.labels) == [["a": "x,\"}]\\", "b": "{["]])
    }

    @Test(arguments: [
        "", "{", #"{"status":"success","data":{"resultType":"matrix","result":[]}"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[]}}x"#,
        #"{"status":"success","data":{"resultType":"matrix","result":[]}]"#,
        #"["status"]"#,
    ])
    func incompleteOrBrokenBodies(body: String) {
        var reader = MatrixStreamReader()
        #expect(throws: FederatorError.self) {
            try reader.feed(Array(body.utf8)) { _ in }
            try reader.finish()
        }
    }

    @Test func vectorResultIsRefusedAtItsFirstSeries() {
        let body = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#
        var reader = MatrixStreamReader()
        #expect(throws: FederatorError(description: "expected a matrix result, got vector")) {
            try reader.feed(Array(body.utf8)) { _ in }
        }
    }
}
