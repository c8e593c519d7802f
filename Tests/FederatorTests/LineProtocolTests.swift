import Testing
@testable import Federator

@Suite struct LineProtocolTests {
    @Test(arguments: [
        (Point(measurement: "in gress,x", tags: [("a b", "c,d=e")], field: "f=g", value: 1, timestampNanoseconds: 5),
         #"in\ gress\,x,a\ b=c\,d\=e f\=g=1 5"#),
        (Point(measurement: "m", tags: [], field: "v", value: 0.25, timestampNanoseconds: -1), "m v=0.25 -1"),
        (Point(measurement: "m", tags: [("t", "a=b\"c")], field: "v", value: -3, timestampNanoseconds: 0), #"m,t=a\=b"c v=-3 0"#),
        (Point(measurement: "m=x", tags: [], field: "v", value: 1e20, timestampNanoseconds: 0), "m=x v=1e+20 0"),
        // Carriage returns, tabs, quotes and other bytes are kept as they are.
        (Point(measurement: "m", tags: [("t", "a\rb\tc#ü")], field: "v", value: 1, timestampNanoseconds: 0), "m,t=a\rb\tc#ü v=1 0"),
        // A backslash before a normal character, or before another backslash, is kept.
        (Point(measurement: "m", tags: [("t", #"a\b\\c"#)], field: "v", value: 1, timestampNanoseconds: 0), #"m,t=a\b\\c v=1 0"#),
    ])
    func encodes(point: Point, line: String) {
        #expect(LineProtocol.encode(point) == line)
    }

    /// What InfluxDB cannot read back: a line feed, and a backslash that would escape the
    /// separator or the next escaped character (it also desynchronises InfluxDB's line
    /// splitter, which then merges the next line into this one).
    @Test(arguments: [
        ("evil\\", #"evil/"#),
        ("evil\\\\", #"evil\/"#),
        ("a\\,b", #"a/\,b"#),
        ("x\\ y\\=z\"w", #"x/\ y/\=z"w"#),
        ("line\nfeed", #"line\nfeed"#),
        ("\r\n", "\r\\n"),
        ("\\\n", #"\\n"#),
    ])
    func standsInForWhatInfluxDBCannotStore(value: String, written: String) {
        let point = Point(measurement: "m", tags: [("t", value)], field: "v", value: 1, timestampNanoseconds: 0)
        #expect(LineProtocol.encode(point) == "m,t=\(written) v=1 0")
    }

    @Test func measurementKeepsEqualsButNotTrailingBackslash() {
        let point = Point(measurement: "m=\\", tags: [("k\\", "v")], field: "f\\", value: 1, timestampNanoseconds: 0)
        #expect(LineProtocol.encode(point) == "m=/,k/=v f/=1 0")
    }

    @Test func stringFieldsEscapeQuotesAndBackslashes() {
        let point = Point(measurement: "m", tags: [], field: "s", fieldValue: .string("a\\b\"c\nd\\"), timestampNanoseconds: 7)
        #expect(LineProtocol.encode(point) == "m s=\"a\\\\b\\\"c\nd\\\\\" 7")
    }

    @Test func appendsLinesToOneBody() {
        var body: [UInt8] = []
        for value in 0..<3 {
            LineProtocol.append(Point(measurement: "m", tags: [], field: "v", value: Double(value), timestampNanoseconds: Int64(value)), to: &body)
        }
        #expect(String(decoding: body, as: UTF8.self) == "m v=0 0\nm v=1 1\nm v=2 2\n")
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

@Suite struct InfluxRejectionTests {
    @Test func fieldTypeConflictCountsDropped() {
        let body = #"{"error":"partial write: field type conflict: input field \"bandwidth_bps\" on measurement \"ingress\" is type float, already exists as type string dropped=3"}"#
        let rejection = InfluxRejection(status: 400, body: body, batchPoints: 10)
        #expect(rejection.rejected == 3)
        #expect(rejection.reason.hasPrefix("partial write: field type conflict"))
    }

    @Test func unparsedLinesCountOnePerLine() {
        let body = #"{"error":"partial write: unable to parse 'a b': invalid field format\nunable to parse 'c d': invalid field format dropped=0"}"#
        #expect(InfluxRejection(status: 400, body: body, batchPoints: 5).rejected == 2)
    }

    @Test func anyOtherRefusalIsTheWholeBatch() {
        #expect(InfluxRejection(status: 404, body: #"{"error":"database not found: \"x\""}"#, batchPoints: 7)
            == InfluxRejection(rejected: 7, reason: #"database not found: "x""#))
        #expect(InfluxRejection(status: 400, body: "not json", batchPoints: 2).rejected == 2)
        // InfluxDB 2.x puts its message under "message".
        let v2 = InfluxRejection(status: 422, body: #"{"code":"unprocessable entity","message":"partial write: points beyond retention policy dropped=4"}"#, batchPoints: 9)
        #expect(v2.rejected == 4)
    }
}
