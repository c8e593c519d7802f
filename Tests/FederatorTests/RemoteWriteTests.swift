import SwiftProtobuf
import Testing
@testable import Federator

@Suite struct RemoteWriteTests {
    @Test func trafficSeriesKeepTheAggregationLabels() throws {
        let series = FederationQueriesTests.trafficSeries[0]
        let labels = try #require(RemoteWriteMapping.labels(.traffic, series: series))
        #expect(labels.map(\.name) == ["__name__", "direction", "local_domain", "local_hostgroup", "remote_domain", "remote_hostgroup"])
        #expect(labels.map(\.value) == ["planet_federated_traffic_bits_per_second", "ingress", "debugapp.service.consul", "debugapp", "xyz.service.consul", "xyz"])
        // Empty values are no labels; an unknown direction is not federated.
        #expect(RemoteWriteMapping.labels(.traffic, series: FederationQueriesTests.trafficSeries[1])?.map(\.name)
            == ["__name__", "direction", "local_hostgroup"])
        #expect(RemoteWriteMapping.labels(.traffic, series: FederationQueriesTests.trafficSeries[2]) == nil)
    }

    @Test func dependencySeriesNames() throws {
        let series = PrometheusSeries(labels: ["local_hostgroup": "a", "port": "80", "process_name": "x\\\n\"", "job": "dropped"], samples: [])
        let labels = try #require(RemoteWriteMapping.labels(.downstream, series: series))
        #expect(labels.map(\.name) == ["__name__", "local_hostgroup", "port", "process_name"])
        #expect(labels[0].value == "planet_federated_downstream")
        #expect(labels[3].value == "x\\\n\"")
        #expect(RemoteWriteMapping.labels(.upstream, series: series)?[0].value == "planet_federated_upstream")
    }

    @Test func dependencySeriesKeepTheProcessUnitWhenTheAgentHasIt() throws {
        let series = PrometheusSeries(labels: ["local_hostgroup": "a", "process_name": "java", "process_unit": "billing.service"], samples: [])
        let labels = try #require(RemoteWriteMapping.labels(.upstream, series: series))
        #expect(labels.map(\.name) == ["__name__", "local_hostgroup", "process_name", "process_unit"])
        #expect(labels[3].value == "billing.service")
    }

    @Test func bodyIsSnappyCompressedWriteRequest() throws {
        var label = Prometheus_Label()
        label.name = "__name__"
        label.value = "planet_federated_upstream"
        var sample = Prometheus_Sample()
        sample.value = 1
        sample.timestamp = 1_700_000_000_123
        var series = Prometheus_TimeSeries()
        series.labels = [label]
        series.samples = [sample, sample]
        let body = try RemoteWriteSink.body([series, series])
        let decoded = try Prometheus_WriteRequest(serializedBytes: try #require(Snappy.uncompress(body)))
        #expect(decoded.timeseries == [series, series])
        #expect(Snappy.uncompress([0xFF, 0xFF, 0xFF]) == nil)
    }

    @Test func snappyRoundTripsLargeInput() throws {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<200_000).map { index in index % 7 == 0 ? UInt8.random(in: 0...255, using: &generator) : UInt8(index % 13) }
        let compressed = Snappy.compress(input)
        #expect(compressed.count < input.count)
        #expect(Snappy.uncompress(compressed) == input)
        #expect(Snappy.uncompress(Snappy.compress([])) == [])
    }
}
