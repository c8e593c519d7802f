import Testing
@testable import Federator

@Suite struct FederationQueriesTests {
    @Test func defaultQueriesExcludeNothing() {
        let options = QueryOptions()
        #expect(FederationQueries.query(.traffic, options: options, stepSeconds: 30)
            == "sum by (direction, local_hostgroup, local_domain, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total[60s])) * 8 > 1000")
        #expect(FederationQueries.query(.upstream, options: options, stepSeconds: 30)
            == "max by (local_hostgroup, local_address, remote_hostgroup, remote_address, port, protocol, process_name, process_unit) (max_over_time(planet_upstream[30s]))")
        #expect(FederationQueries.query(.downstream, options: options, stepSeconds: 15)
            == "max by (local_hostgroup, local_address, remote_hostgroup, remote_address, port, protocol, process_name, process_unit) (max_over_time(planet_downstream[15s]))")
    }

    @Test func exclusionsAreLiteralAndQuoted() {
        let options = QueryOptions(excludedPorts: ["22", "19100"], excludedRemoteAddresses: ["10.0.0.1", "a\"b"],
                                   noiseFloorBitsPerSecond: 0.5, rateWindowSeconds: 45)
        #expect(FederationQueries.query(.traffic, options: options, stepSeconds: 30)
            == #"sum by (direction, local_hostgroup, local_domain, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total{port!~"22|19100", remote_ip!~"10\\.0\\.0\\.1|a\"b"}[45s])) * 8 > 0.5"#)
        #expect(FederationQueries.query(.upstream, options: options, stepSeconds: 30)
            .contains(#"planet_upstream{port!~"22|19100", remote_address!~"10\\.0\\.0\\.1|a\"b"}[30s]"#))
    }

    @Test func patternsAreMatchedAsGivenOnEveryAddressLabel() {
        let options = QueryOptions(excludedPortPatterns: ["22|9100"], excludedRemoteAddressPatterns: [#"52\..*|a"b"#])
        #expect(FederationQueries.query(.traffic, options: options, stepSeconds: 30)
            == #"sum by (direction, local_hostgroup, local_domain, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total{port!~"22|9100", remote_ip!~"52\\..*|a\"b", remote_domain!~"52\\..*|a\"b"}[60s])) * 8 > 1000"#)
        #expect(FederationQueries.query(.downstream, options: options, stepSeconds: 30)
            == #"max by (local_hostgroup, local_address, remote_hostgroup, remote_address, port, protocol, process_name, process_unit) (max_over_time(planet_downstream{port!~"22|9100", remote_address!~"52\\..*|a\"b"}[30s]))"#)
    }

    @Test func requiredHostgroupsAreTheGoOriginals() {
        let options = QueryOptions(requireHostgroups: true)
        #expect(FederationQueries.query(.traffic, options: options, stepSeconds: 30)
            .contains(#"planet_traffic_bytes_total{local_hostgroup!="", remote_hostgroup!=""}[60s]"#))
        #expect(FederationQueries.query(.upstream, options: options, stepSeconds: 30)
            .contains(#"planet_upstream{local_hostgroup!=""}[30s]"#))
    }

    /// The Go original's matchers, as its query text wrote them, for each data set.
    @Test func goPresetHasTheGoOriginalsMatchers() {
        let ports = "(22|53|111|8301|8300|8500|3025|3022|51666|9100|19100|5666|25|8600|11910|11560)"
        let addresses = "(100.([6-9]|1[0-2]).*|52.*|192.168.*|.*prometheus.*|203.*|163.18.*|130.211.*|f.*|169.254.*|111.*)"
        let options = QueryOptions(exclusions: .go)
        #expect(FederationQueries.query(.traffic, options: options, stepSeconds: 30)
            == "sum by (direction, local_hostgroup, local_domain, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total{"
            + #"local_hostgroup!="", remote_ip!~"\#(addresses)", remote_domain!~"\#(addresses)", remote_hostgroup!=""}[60s])) * 8 > 1000"#)
        for dataSet in [DataSet.upstream, .downstream] {
            #expect(FederationQueries.query(dataSet, options: options, stepSeconds: 15)
                == "max by (local_hostgroup, local_address, remote_hostgroup, remote_address, port, protocol, process_name, process_unit) (max_over_time(planet_\(dataSet.rawValue){"
                + #"local_hostgroup!="", port!~"\#(ports)", remote_address!~"\#(addresses)", remote_address!="localhost", process_name!="", remote_address!~"\\d.*"}[15s]))"#)
        }
    }

    @Test func presetAddsToTheFlagsMatchersEachOnce() {
        let options = QueryOptions(excludedPorts: ["7000"], excludedPortPatterns: ["80.."], requireHostgroups: true, exclusions: .go)
        let traffic = FederationQueries.query(.traffic, options: options, stepSeconds: 30)
        #expect(traffic.contains(#"{port!~"7000", port!~"80..", local_hostgroup!="", remote_hostgroup!="", remote_ip!~"(100."#))
        #expect(traffic.ranges(of: #"local_hostgroup!="""#).count == 1)
        let upstream = FederationQueries.query(.upstream, options: options, stepSeconds: 30)
        #expect(upstream.contains(#"{port!~"7000", port!~"80..", local_hostgroup!="", port!~"(22|"#))
        #expect(upstream.ranges(of: #"local_hostgroup!="""#).count == 1)
    }

    static let trafficSeries = [
        PrometheusSeries(labels: ["direction": "ingress", "local_hostgroup": "debugapp", "local_domain": "debugapp.service.consul",
                                  "remote_hostgroup": "xyz", "remote_domain": "xyz.service.consul"],
                         samples: [.init(timestampMilliseconds: 1_700_000_000_000, value: 8000),
                                   .init(timestampMilliseconds: 1_700_000_030_000, value: .nan)]),
        PrometheusSeries(labels: ["direction": "egress", "local_hostgroup": "debugapp", "remote_hostgroup": "",
                                  "remote_domain": ""],
                         samples: [.init(timestampMilliseconds: 1_700_000_000_500, value: 1.5e9)]),
        PrometheusSeries(labels: ["direction": "sideways"], samples: [.init(timestampMilliseconds: 1, value: 1)]),
    ]

    @Test func trafficPointsUseGoOriginalSchema() {
        let points = PointMapping.points(.traffic, series: Self.trafficSeries)
        #expect(points.map(LineProtocol.encode) == [
            "ingress,address=debugapp.service.consul,remote_address=xyz.service.consul,remote_service=xyz,service=debugapp bandwidth_bps=8000 1700000000000000000",
            "egress,service=debugapp bandwidth_bps=1500000000 1700000000500000000",
        ])
    }

    @Test func dependencyPointsUseGoOriginalSchema() {
        let labels = ["local_hostgroup": "debugapp", "local_address": "debugapp.service.consul", "remote_hostgroup": "xyz",
                      "remote_address": "xyz.service.consul", "port": "80", "protocol": "tcp", "process_name": "debugapp"]
        let series = [PrometheusSeries(labels: labels, samples: [.init(timestampMilliseconds: 1000, value: 1)])]
        #expect(PointMapping.points(.upstream, series: series).map(LineProtocol.encode) == [
            "upstream,address=debugapp.service.consul,process_name=debugapp,protocol=tcp,service=debugapp,upstream_address=xyz.service.consul,upstream_port=80,upstream_service=xyz service_dependency=1 1000000000",
        ])
        #expect(PointMapping.points(.downstream, series: series).map(LineProtocol.encode) == [
            "downstream,address=debugapp.service.consul,downstream_address=xyz.service.consul,downstream_service=xyz,port=80,process_name=debugapp,protocol=tcp,service=debugapp service_dependency=1 1000000000",
        ])
    }

    @Test func dependencyPointsCarryTheProcessUnitWhenPresent() {
        let labels = ["local_hostgroup": "debugapp", "local_address": "debugapp.service.consul", "port": "80", "protocol": "tcp",
                      "process_name": "java", "process_unit": "billing.service"]
        let series = [PrometheusSeries(labels: labels, samples: [.init(timestampMilliseconds: 1000, value: 1)])]
        #expect(PointMapping.points(.upstream, series: series).map(LineProtocol.encode) == [
            "upstream,address=debugapp.service.consul,process_name=java,process_unit=billing.service,protocol=tcp,service=debugapp,upstream_port=80 service_dependency=1 1000000000",
        ])
    }

    @Test(arguments: [
        (1000, 30, 30, 0, [990, 990, 30]),
        (1000, 30, 10, 0, [980, 1000, 10]),
        (1000, 5, 30, 0, [1000, 1000, 5]),
        (1000, 60, 30, -30, [930, 960, 30]),
        (1000, 600, 30, -15, [390, 960, 30]),
        (1000, 10_000_000, 1, 0, [1000 - 11_000 + 1, 1000, 1]),
    ])
    func windows(runTime: Int, period: Int, step: Int, offset: Int, expected: [Int]) {
        let window = QueryWindow(runTime: runTime, periodSeconds: period, stepSeconds: step, offsetSeconds: offset)
        #expect([window.start, window.end, window.step] == expected)
    }
}
