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
