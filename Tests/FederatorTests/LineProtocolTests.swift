import Testing
@testable import Federator

@Suite struct LineProtocolTests {
    @Test(arguments: [
        (Point(measurement: "in gress,x", tags: [("a b", "c,d=e")], field: "f=g", value: 1, timestampNanoseconds: 5),
         #"in\ gress\,x,a\ b=c\,d\=e f\=g=1 5"#),
        (Point(measurement: "m", tags: [], field: "v", value: 0.25, timestampNanoseconds: -1), "m v=0.25 -1"),
        (Point(measurement: "m", tags: [("t", "a\nb")], field: "v", value: 1e20, timestampNanoseconds: 0), #"m,t=a\ b v=1e+20 0"#),
        (Point(measurement: "m", tags: [("t", "a=b\"c")], field: "v", value: -3, timestampNanoseconds: 0), #"m,t=a\=b"c v=-3 0"#),
    ])
    func encodes(point: Point, line: String) {
        #expect(LineProtocol.encode(point) == line)
    }

    @Test func batchesKeepOrderAndSize() {
        let points = (0..<7).map { Point(measurement: "m", tags: [], field: "v", value: Double($0), timestampNanoseconds: Int64($0)) }
        let batches = LineProtocol.batches(points, batchSize: 3)
        #expect(batches == ["m v=0 0\nm v=1 1\nm v=2 2\n", "m v=3 3\nm v=4 4\nm v=5 5\n", "m v=6 6\n"])
        #expect(LineProtocol.batches([], batchSize: 3).isEmpty)
        #expect(LineProtocol.batches(points, batchSize: 0).count == 7)
    }

    @Test(arguments: [
        ("1.8.10", InfluxAPIVersion.v1), ("v2.7.4", .v2), ("2.7.1", .v2), ("1.11.8", .v1), ("v3.0.0", .v2), (" 1.6.7~rc0 ", .v1),
    ])
    func detectsVersion(header: String, version: InfluxAPIVersion) {
        #expect(InfluxAPIVersion.fromVersionHeader(header) == version)
    }

    @Test(arguments: [nil, "", "unknown", "v"] as [String?])
    func unknownVersion(header: String?) {
        #expect(InfluxAPIVersion.fromVersionHeader(header) == nil)
    }

    @Test func writeURLs() {
        let target = InfluxTarget(address: "http://127.0.0.1:8086/", bucket: "mother ship", org: "my&org", token: "")
        #expect(target.writeURL(.v1) == "http://127.0.0.1:8086/write?db=mother%20ship&precision=ns")
        #expect(target.writeURL(.v2) == "http://127.0.0.1:8086/api/v2/write?org=my%26org&bucket=mother%20ship&precision=ns")
        #expect(target.pingURL == "http://127.0.0.1:8086/ping")
        #expect(target.authorization == nil)
        #expect(InfluxTarget(address: "x", bucket: "b", org: "", token: "t0k").authorization == "Token t0k")
    }
}
