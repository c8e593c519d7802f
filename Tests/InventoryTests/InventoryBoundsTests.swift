import Foundation
import NetAddress
import Testing
@testable import Inventory

/// What the parser's bounds cut, and the JSON it reads in place without a decoder.
@Suite struct InventoryBoundsTests {
    private func parse(_ text: String, _ format: InventoryFormat, maxEntries: Int = InventoryParser.defaultMaxEntries) throws -> InventoryParseResult {
        try InventoryParser.parse(Array(text.utf8), format: format, maxEntries: maxEntries)
    }

    @Test func entriesPastTheBoundAreCountedNotKept() throws {
        let body = "[" + (1...10).map { #"{"ip_address":"10.0.0.\#($0)","hostgroup":"g\#($0)"}"# }.joined(separator: ",") + "]"
        let result = try parse(body, .arrayjson, maxEntries: 4)
        #expect(result.entries.map(\.host.hostgroup) == ["g1", "g2", "g3", "g4"])
        #expect(result.droppedEntries == 6)
        let lines = (1...10).map { #"{"ip_address":"10.0.0.\#($0)","hostgroup":"g\#($0)"}"# }.joined(separator: "\n")
        #expect(try parse(lines, .ndjson, maxEntries: 3).droppedEntries == 7)
    }

    @Test func longLabelsAreCutAtACharacterBoundary() throws {
        // 255 ASCII bytes then a 3-byte character: cut before it, not through it.
        let long = String(repeating: "a", count: 255) + "€€€"
        let domain = String(repeating: "d", count: 300)
        let result = try parse(#"[{"ip_address":"10.0.0.1","hostgroup":"\#(long)","domain":"\#(domain)"}]"#, .arrayjson)
        #expect(result.entries.first?.host.hostgroup == String(repeating: "a", count: 255))
        #expect(result.entries.first?.host.domain == String(repeating: "d", count: 256))
        #expect(result.truncatedLabels == 2)
    }

    @Test func problemsPastTheBoundAreCountedNotKept() throws {
        let lines = (0..<1500).map { _ in "not json" }.joined(separator: "\n") + "\n" + #"{"ip_address":"10.0.0.1","hostgroup":"a"}"#
        let result = try parse(lines, .ndjson)
        #expect(result.problems.count == InventoryParser.maxRecordedProblems)
        #expect(result.problemCount == 1500)
        #expect(result.entries.count == 1)
    }

    @Test func escapesAndUnicodeAreDecoded() throws {
        let result = try parse(#"""
            [{"ip_address":"10.0.0.1","hostgroup":"tab\there \"q\" \\ \/ \u00e9 \ud83d\ude00","domain":"x\nline"}]
            """#, .arrayjson)
        #expect(result.entries.first?.host.hostgroup == "tab\there \"q\" \\ / é 😀")
        #expect(result.entries.first?.host.domain == "x\nline")
    }

    @Test(arguments: [
        #"[{"ip_address":"10.0.0.1","hostgroup":"a"},]"#,         // trailing comma
        #"[{"ip_address":"10.0.0.1","hostgroup":"a"}] x"#,         // text after the array
        #"[{"ip_address":"10.0.0.1","hostgroup":"\ud800"}]"#,      // lone surrogate
        #"[{"ip_address":"10.0.0.1","hostgroup":"\x"}]"#,          // unknown escape
        "[{\"ip_address\":\"10.0.0.1\",\"hostgroup\":\"a\u{01}\"}]",  // raw control character
        #"[{"ip_address":"10.0.0.1","n":01}]"#,                    // leading zero
        #"[{"ip_address":"10.0.0.1","n":1.}]"#,                    // no fraction digits
        #"[{"ip_address":"10.0.0.1","n":tru}]"#,                   // cut literal
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600),  // too deep
    ])
    func invalidJSONIsRejectedAsAWhole(body: String) {
        #expect(throws: InventoryParseError.self) { try parse(body, .arrayjson) }
    }

    @Test func numbersLiteralsAndNestingAreSkipped() throws {
        let result = try parse(#"""
            [{"n":-1.5e+3,"t":true,"f":false,"z":null,"o":{"a":[1,{"b":[]}]},"ip_address":"10.0.0.1","hostgroup":"a"}]
            """#, .arrayjson)
        #expect(result.entries.count == 1)
    }

    @Test func dataAndArraysParseTheSame() throws {
        let body = Array(#"[{"ip_address":"10.0.0.1","hostgroup":"a"}]"#.utf8)
        let fromArray = try InventoryParser.parse(body, format: .arrayjson)
        let fromData = try InventoryParser.parse(Data(body), format: .arrayjson)
        let fromSlice = try InventoryParser.parse(body[...], format: .arrayjson)
        #expect(fromArray.entries == fromData.entries && fromData.entries == fromSlice.entries)
    }

    @Test func aLargeInventoryParsesEntryByEntry() throws {
        var body = "["
        for index in 0..<50_000 {
            if index > 0 { body += "," }
            body += #"{"ip_address":"10.\#(index >> 16).\#((index >> 8) & 255).\#(index & 255)","hostgroup":"group-\#(index % 97)","domain":"host\#(index).example"}"#
        }
        body += "]"
        let result = try parse(body, .arrayjson)
        #expect(result.entries.count == 50_000)
        #expect(result.entries.last?.host.domain == "host49999.example")
    }
}
