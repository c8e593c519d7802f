import Foundation
import Testing
@testable import Federator

@Suite struct BigQueryExportTests {
    static let date = "2023-11-14T23:13:20"

    @Test func trafficQueryReadsTheHourEndingAtTheRunTime() {
        #expect(BigQueryExportQueries.traffic(end: 1_700_003_600)
            == #"SELECT MIN("bandwidth_bps"), MAX("bandwidth_bps"), MEAN("bandwidth_bps") FROM "ingress", "egress" WHERE "service" != '' AND time > 1700000000s AND time <= 1700003600s GROUP BY "service", "address", "remote_service", "remote_address""#)
    }

    @Test func dependencyQueriesReadSevenDays() {
        #expect(BigQueryExportQueries.dependency("upstream", end: 1_700_604_800)
            == #"SELECT COUNT("service_dependency") FROM "upstream" WHERE "service" != '' AND time > 1700000000s AND time <= 1700604800s GROUP BY "service", "address", "upstream_service", "upstream_address", "process_name", "upstream_port", "protocol""#)
        #expect(BigQueryExportQueries.dependency("downstream", end: 1_700_604_800)
            == #"SELECT COUNT("service_dependency") FROM "downstream" WHERE "service" != '' AND time > 1700000000s AND time <= 1700604800s GROUP BY "service", "address", "downstream_service", "downstream_address", "process_name", "port", "protocol""#)
    }

    @Test(arguments: [
        (1_700_003_600, "2023-11-14T23:13:20"), (0, "1970-01-01T00:00:00"),
        (951_782_400, "2000-02-29T00:00:00"), (4_102_444_799, "2099-12-31T23:59:59"),
    ])
    func inventoryDateIsUTC(seconds: Int, text: String) {
        #expect(BigQueryExportRows.inventoryDate(seconds) == text)
    }

    @Test func trafficRowsHaveTheOriginalsColumnsAndNulls() throws {
        let series = [
            InfluxSeries(name: "egress",
                         tags: ["service": "api", "address": "", "remote_service": "db", "remote_address": "db.service.consul"],
                         columns: ["time", "min", "max", "mean"], values: [[.number(1_700_000_000), .number(1200.9), .number(98000), .number(4521.75)]]),
            InfluxSeries(name: "ingress",
                         tags: ["service": "api", "address": "api.service.consul", "remote_service": "", "remote_address": ""],
                         columns: ["time", "min", "max", "mean"], values: [[.number(1_700_000_000), .number(8000), .number(8000), .number(8000)]]),
            // A series with no number (all points outside the range) is skipped, not written as 0.
            InfluxSeries(name: "ingress", tags: ["service": "api"], columns: ["time", "min", "max", "mean"],
                         values: [[.number(1_700_000_000), .null, .null, .null]]),
        ]
        let (rows, skipped) = BigQueryExportRows.traffic(series, table: "p:d.t", inventoryDate: Self.date)
        #expect(skipped == 1)
        try #require(rows.count == 2)
        #expect(rows[0].cells == [
            BigQueryCell("inventory_date", .string(Self.date)),
            BigQueryCell("traffic_direction", .string("egress")),
            BigQueryCell("local_hostgroup", .string("api")),
            BigQueryCell("local_hostgroup_address", .null),
            BigQueryCell("remote_hostgroup", .string("db")),
            BigQueryCell("remote_hostgroup_address", .string("db.service.consul")),
            BigQueryCell("traffic_bandwidth_bits_min_1h", .integer(1200)),
            BigQueryCell("traffic_bandwidth_bits_max_1h", .integer(98000)),
            BigQueryCell("traffic_bandwidth_bits_avg_1h", .integer(4521)),
        ])
        #expect(rows[0].insertID == "e3b8afd49b04d32bf48bbcb83bfb4e33bf9e2bdc4cb469b926c9cee7e7890eff")
        #expect(rows[1]["remote_hostgroup"] == .string(""), "remote_hostgroup is REQUIRED: empty, not NULL")
        #expect(rows[1]["remote_hostgroup_address"] == .null)
        #expect(rows[1]["local_hostgroup_address"] == .string("api.service.consul"))
        #expect(rows.map(\.cells).map { $0.map(\.name) } == Array(repeating: BigQueryTables.traffic.map(\.name), count: 2))
        #expect(rows[0].json == #"{"insertId":"e3b8afd49b04d32bf48bbcb83bfb4e33bf9e2bdc4cb469b926c9cee7e7890eff","json":{"inventory_date":"2023-11-14T23:13:20","traffic_direction":"egress","local_hostgroup":"api","local_hostgroup_address":null,"remote_hostgroup":"db","remote_hostgroup_address":"db.service.consul","traffic_bandwidth_bits_min_1h":"1200","traffic_bandwidth_bits_max_1h":"98000","traffic_bandwidth_bits_avg_1h":"4521"}}"#)
    }

    @Test func dependencyRowsPutEachPortWhereItBelongs() throws {
        let upstream = InfluxSeries(
            name: "upstream",
            tags: ["service": "api", "address": "api.service.consul", "upstream_service": "db", "upstream_address": "db.service.consul",
                   "process_name": "api-server", "upstream_port": "5432", "protocol": "tcp"],
            columns: ["time", "count"], values: [[.number(1_700_000_000), .number(40)]])
        let downstream = InfluxSeries(
            name: "downstream",
            tags: ["service": "api", "address": "api.service.consul", "downstream_service": "", "downstream_address": "10.1.2.3",
                   "process_name": "", "port": "443", "protocol": "tcp"],
            columns: ["time", "count"], values: [[.number(1_700_000_000), .number(2)]])
        let unseen = InfluxSeries(name: "upstream", tags: ["service": "api"], columns: ["time", "count"], values: [[.number(0), .number(0)]])
        let (rows, skipped) = BigQueryExportRows.dependency([upstream, downstream, unseen], table: "p:d.dep", inventoryDate: Self.date)
        #expect(skipped == 1)
        try #require(rows.count == 2)
        #expect(rows[0].cells == [
            BigQueryCell("inventory_date", .string(Self.date)),
            BigQueryCell("dependency_direction", .string("upstream")),
            BigQueryCell("protocol", .string("tcp")),
            BigQueryCell("local_hostgroup_process_name", .string("api-server")),
            BigQueryCell("local_hostgroup", .string("api")),
            BigQueryCell("local_hostgroup_address", .string("api.service.consul")),
            BigQueryCell("local_hostgroup_address_port", .null),
            BigQueryCell("remote_hostgroup", .string("db")),
            BigQueryCell("remote_hostgroup_address", .string("db.service.consul")),
            BigQueryCell("remote_hostgroup_address_port", .string("5432")),
        ])
        #expect(rows[1].cells == [
            BigQueryCell("inventory_date", .string(Self.date)),
            BigQueryCell("dependency_direction", .string("downstream")),
            BigQueryCell("protocol", .string("tcp")),
            BigQueryCell("local_hostgroup_process_name", .null),
            BigQueryCell("local_hostgroup", .string("api")),
            BigQueryCell("local_hostgroup_address", .string("api.service.consul")),
            BigQueryCell("local_hostgroup_address_port", .string("443")),
            BigQueryCell("remote_hostgroup", .string("")),
            BigQueryCell("remote_hostgroup_address", .string("10.1.2.3")),
            BigQueryCell("remote_hostgroup_address_port", .null),
        ])
        #expect(rows.map { $0.cells.map(\.name) } == Array(repeating: BigQueryTables.dependency.map(\.name), count: 2))
    }

    @Test func insertIDsAreStablePerRunAndDistinctAcrossRowsRunsAndTables() {
        let key = ["egress", "api", "", "db", "db.service.consul"]
        let id = BigQueryExportRows.insertID(table: "p:d.t", inventoryDate: Self.date, key: key)
        #expect(id == BigQueryExportRows.insertID(table: "p:d.t", inventoryDate: Self.date, key: key))
        #expect(id.count == 64)
        #expect(id != BigQueryExportRows.insertID(table: "p:d.t", inventoryDate: "2023-11-15T00:13:20", key: key))
        #expect(id != BigQueryExportRows.insertID(table: "p:d.u", inventoryDate: Self.date, key: key))
        // Separators keep ("ab", "") and ("a", "b") apart.
        #expect(BigQueryExportRows.insertID(table: "t", inventoryDate: "d", key: ["ab", ""])
            != BigQueryExportRows.insertID(table: "t", inventoryDate: "d", key: ["a", "b"]))
    }

    @Test func tableColumnsMatchTheOriginal() {
        #expect(BigQueryTables.traffic.map { "\($0.name) \($0.type) \($0.mode)" } == [
            "inventory_date DATETIME REQUIRED", "traffic_direction STRING REQUIRED", "local_hostgroup STRING REQUIRED",
            "local_hostgroup_address STRING NULLABLE", "remote_hostgroup STRING REQUIRED", "remote_hostgroup_address STRING NULLABLE",
            "traffic_bandwidth_bits_min_1h INTEGER REQUIRED", "traffic_bandwidth_bits_max_1h INTEGER REQUIRED",
            "traffic_bandwidth_bits_avg_1h INTEGER REQUIRED",
        ])
        #expect(BigQueryTables.dependency.map { "\($0.name) \($0.type) \($0.mode)" } == [
            "inventory_date DATETIME REQUIRED", "dependency_direction STRING REQUIRED", "protocol STRING REQUIRED",
            "local_hostgroup_process_name STRING NULLABLE", "local_hostgroup STRING REQUIRED", "local_hostgroup_address STRING NULLABLE",
            "local_hostgroup_address_port STRING NULLABLE", "remote_hostgroup STRING REQUIRED", "remote_hostgroup_address STRING NULLABLE",
            "remote_hostgroup_address_port STRING NULLABLE",
        ])
    }
}
