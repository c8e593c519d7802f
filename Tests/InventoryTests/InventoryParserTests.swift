import NetAddress
import Testing
@testable import Inventory

private func entry(_ network: String, _ hostgroup: String, _ domain: String) -> InventoryEntry {
    InventoryEntry(
        network: IPNetwork(network)!,
        host: InventoryHost(hostgroup: hostgroup, domain: domain),
        isCIDRNotation: network.contains("/"))
}

private func parse(_ text: String, _ format: InventoryFormat) throws -> InventoryParseResult {
    try InventoryParser.parse(Array(text.utf8), format: format)
}

@Suite struct InventoryParserTests {
    @Test func goOriginalArrayJSONExample() throws {
        let result = try InventoryParser.parse(try inventoryFixture("go-original-arrayjson.json"), format: .arrayjson)
        #expect(result.entries == [
            entry("10.1.2.3", "xyz", "xyz.service.consul"),
            entry("10.2.3.4", "debugapp", "debugapp.service.consul"),
            entry("10.3.0.0/16", "unknown-but-its-network-xyz", ""),
        ])
        #expect(result.problems.isEmpty)
        #expect(result.unlabelledCount == 0)
    }

    @Test func goOriginalNDJSONExample() throws {
        let result = try InventoryParser.parse(try inventoryFixture("go-original-ndjson.ndjson"), format: .ndjson)
        #expect(result.entries == [
            entry("10.0.1.2", "xyz", "xyz.service.consul"),
            entry("172.16.1.2", "abc", "abc.service.consul"),
            entry("10.3.0.0/16", "unknown-but-its-network-xyz", ""),
        ])
        #expect(result.problems.isEmpty)
    }

    @Test func brokenArrayKeepsGoodEntriesAndNamesEachBadOne() throws {
        let result = try InventoryParser.parse(try inventoryFixture("broken-arrayjson.json"), format: .arrayjson)
        #expect(result.entries == [
            entry("10.1.2.3", "xyz", "xyz.service.consul"),
            entry("2001:db8::/32", "v6-net", ""),
        ])
        #expect(result.problems.map(\.description) == [
            #"array index 1: "ip_address" "10.1.2.300" is not an IP address or CIDR network; entry skipped"#,
            #"array index 2: missing "ip_address"; entry skipped"#,
            #"array index 3: not a JSON object; entry skipped"#,
            #"array index 4: "ip_address" "10.4.0.0/33" is not an IP address or CIDR network; entry skipped"#,
            #"array index 5: "ip_address" is not a string; entry skipped"#,
        ])
        #expect(result.unlabelledCount == 1)
    }

    @Test func brokenNDJSONNamesEachBadLine() throws {
        let result = try InventoryParser.parse(try inventoryFixture("broken-ndjson.ndjson"), format: .ndjson)
        #expect(result.entries == [
            entry("10.0.1.2", "xyz", "xyz.service.consul"),
            entry("10.3.0.0/16", "unknown-but-its-network-xyz", ""),
            entry("2001:db8::1", "v6", "v6.service.consul"),
        ])
        #expect(result.problems.map(\.description) == [
            "line 2: invalid JSON; entry skipped",
            #"line 4: "ip_address" "not-an-ip" is not an IP address or CIDR network; entry skipped"#,
            "line 6: not a JSON object; entry skipped",
        ])
        #expect(result.problems.first?.location == .line(2))
    }

    @Test func invalidArrayJSONIsAnErrorWithTheBodyStart() throws {
        let body = try inventoryFixture("not-json.html")
        #expect(throws: InventoryParseError.invalidJSON(byteCount: body.count, start: #""<html><body>502 Bad Gateway</body></html"..."#)) {
            try InventoryParser.parse(body, format: .arrayjson)
        }
        let error = InventoryParseError.invalidJSON(byteCount: 3, start: #""abc""#)
        #expect(error.description == #"inventory body is not valid JSON (3 bytes, starting "abc"); keeping the previous inventory"#)
    }

    @Test func truncatedArrayIsAnError() {
        #expect(throws: InventoryParseError.self) {
            try parse(#"[{"ip_address":"10.0.0.1","hostgroup":"a"}"#, .arrayjson)
        }
    }

    @Test func objectInsteadOfArrayIsAnError() {
        #expect(throws: InventoryParseError.notAnArray(byteCount: 41, start: #""{\"ip_address\":\"10.0.0.1\",\"hostgroup\":\"a\""..."#)) {
            try parse(#"{"ip_address":"10.0.0.1","hostgroup":"a"}"#, .arrayjson)
        }
    }

    @Test func ndjsonWithNoUsableLineIsAnError() throws {
        let body = try inventoryFixture("not-json.html")
        #expect(throws: InventoryParseError.noUsableEntry(
            problemCount: 1, first: InventoryProblem(location: .line(1), reason: "invalid JSON"))) {
            try InventoryParser.parse(body, format: .ndjson)
        }
        let error = InventoryParseError.noUsableEntry(
            problemCount: 2, first: InventoryProblem(location: .line(1), reason: "invalid JSON"))
        #expect(error.description == "inventory body has no usable entry (2 rejected, first: line 1: invalid JSON; entry skipped); keeping the previous inventory")
    }

    @Test func arrayWhoseEntriesAreAllBadIsAnError() {
        #expect(throws: InventoryParseError.noUsableEntry(
            problemCount: 1, first: InventoryProblem(location: .index(0), reason: "missing \"ip_address\""))) {
            try parse(#"[{"hostgroup":"a"}]"#, .arrayjson)
        }
    }

    @Test func emptyBodiesAreEmptyInventories() throws {
        #expect(try parse("[]", .arrayjson).entries.isEmpty)
        #expect(try parse(" [ ] \n", .arrayjson).entries.isEmpty)
        #expect(try parse("", .ndjson).entries.isEmpty)
        #expect(try parse("\n\n  \r\n", .ndjson).entries.isEmpty)
        #expect(throws: InventoryParseError.self) { try parse("", .arrayjson) }
    }

    @Test func ndjsonLineNumbersCountBlankLinesAndAcceptCRLFAndBOM() throws {
        let text = "\u{FEFF}{\"ip_address\":\"10.0.0.1\",\"hostgroup\":\"a\"}\r\n\r\n\n{\"ip_address\":\"10.0.0.x\",\"hostgroup\":\"b\"}\r\n{\"ip_address\":\"10.0.0.2\",\"hostgroup\":\"c\"}"
        let result = try parse(text, .ndjson)
        #expect(result.entries == [entry("10.0.0.1", "a", ""), entry("10.0.0.2", "c", "")])
        #expect(result.problems == [InventoryProblem(location: .line(4), reason: #""ip_address" "10.0.0.x" is not an IP address or CIDR network"#)])
    }

    @Test func missingAndNullLabelsAreEmptyAndExtraFieldsIgnored() throws {
        let result = try parse(#"""
            {"ip_address":"10.0.0.1","hostgroup":"a","extra":{"nested":[1,2]}}
            {"ip_address":"10.0.0.2","domain":"b.example","hostgroup":null}
            """#, .ndjson)
        #expect(result.entries == [entry("10.0.0.1", "a", ""), entry("10.0.0.2", "", "b.example")])
    }

    @Test func keysMatchIgnoringCaseAsGoDidPreferringTheExactSpelling() throws {
        let result = try parse(#"""
            {"IP_Address":"10.0.0.1","HostGroup":"a","Domain":"a.example"}
            {"IP_ADDRESS":"10.0.0.9","ip_address":"10.0.0.2","hostgroup":"b"}
            """#, .ndjson)
        #expect(result.entries == [entry("10.0.0.1", "a", "a.example"), entry("10.0.0.2", "b", "")])
    }

    @Test func nonStringLabelsAreProblems() throws {
        let result = try parse(#"""
            {"ip_address":"10.0.0.1","hostgroup":"a"}
            {"ip_address":"10.0.0.2","hostgroup":7}
            {"ip_address":"10.0.0.3","domain":["x"]}
            """#, .ndjson)
        #expect(result.problems.map(\.description) == [
            #"line 2: "hostgroup" is not a string; entry skipped"#,
            #"line 3: "domain" is not a string; entry skipped"#,
        ])
    }

    @Test func addressesAreNormalisedAndHostBitsCleared() throws {
        let result = try parse(#"""
            [{"ip_address":"10.3.1.7/16","hostgroup":"net"},
             {"ip_address":"2001:DB8:0:0::1","hostgroup":"v6"},
             {"ip_address":"::ffff:10.0.0.9","hostgroup":"mapped"}]
            """#, .arrayjson)
        #expect(result.entries == [
            entry("10.3.0.0/16", "net", ""),
            entry("2001:db8::1", "v6", ""),
            entry("10.0.0.9", "mapped", ""),
        ])
    }

    @Test func badAddressTextIsQuotedOnOneLine() throws {
        let result = try parse("[{\"ip_address\":\"10.0.0.1\",\"hostgroup\":\"a\"},{\"ip_address\":\"bad\\nline\\\"\",\"hostgroup\":\"b\"}]", .arrayjson)
        #expect(result.problems.map(\.description) == [
            #"array index 1: "ip_address" "bad\nline\"" is not an IP address or CIDR network; entry skipped"#,
        ])
    }
}

@Suite struct InventoryFormatTests {
    @Test func acceptsTheGoOriginalNames() throws {
        #expect(try InventoryFormat(flagValue: "arrayjson") == .arrayjson)
        #expect(try InventoryFormat(flagValue: "ndjson") == .ndjson)
    }

    @Test func refusesUnknownNamesNamingTheAcceptedOnes() {
        #expect(throws: InventoryFormatError(value: "json")) { try InventoryFormat(flagValue: "json") }
        #expect(throws: InventoryFormatError(value: "NDJSON")) { try InventoryFormat(flagValue: "NDJSON") }
        #expect(InventoryFormatError(value: "xml").description
            == #"unknown inventory format "xml" for -task-inventory-format; accepted values: arrayjson, ndjson"#)
    }
}
