import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
@testable import Federator

/// Replies a hostile or broken server could send, each of which once trapped on an
/// overflow: now one failure line each, and the run goes on.
@Suite struct CraftedRepliesTests {
    static let logger = Logger(label: "test")

    /// A Prometheus stand-in answering every query with `samples` of one traffic series,
    /// and an InfluxDB 1.x stand-in answering every write with `writeStatus` and `writeBody`.
    static func standIns(samples: String, writeStatus: HTTPResponse.Status, writeBody: String) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/api/v1/query_range") { _, _ in
            jsonResponse(.ok, #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"direction":"ingress","local_hostgroup":"a","remote_hostgroup":"b"},"values":\#(samples)}]}}"#)
        }
        router.get("/ping") { _, _ in
            Response(status: .noContent, headers: [.init("X-Influxdb-Version")!: "1.8.10"])
        }
        router.post("/write") { _, _ in jsonResponse(writeStatus, writeBody) }
        return router
    }

    static func run(_ router: Router<BasicRequestContext>) async throws -> RunSummary {
        try await withLocalServer(router) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let configuration = FederatorConfiguration(
                prometheusAddress: "http://127.0.0.1:\(port)",
                influx: InfluxTarget(address: "http://127.0.0.1:\(port)", bucket: "mothership", org: "", token: ""),
                influxAPI: .auto, batchSize: 1000, queryOptions: QueryOptions(), stepSeconds: 30, timeOffsetSeconds: 0,
                jobTimeout: .seconds(20))
            let federator = Federator(client: client, configuration: configuration, logger: Self.logger)
            let summary = await federator.run(runTime: 1_700_000_100, periodSeconds: 60)
            try await client.shutdown()
            return summary
        }
    }

    @Test func aPartialWriteDroppingInt64MaxPointsRejectsTheBatch() async throws {
        let summary = try await Self.run(Self.standIns(
            samples: #"[[1700000040,"8"],[1700000070,"9"]]"#, writeStatus: .badRequest,
            writeBody: #"{"error":"partial write: unable to parse 'a b': invalid field format dropped=9223372036854775807"}"#))
        let influx = try #require(summary.sinks[.influxdb])
        #expect(influx.written == 0)
        #expect(influx.rejected > 0)
        #expect(summary.failures.count >= 1)
    }

    @Test func sampleTimesNoStoreHoldsAreOneFailure() async throws {
        let summary = try await Self.run(Self.standIns(
            samples: #"[[1e10,"8"]]"#, writeStatus: .noContent, writeBody: ""))
        #expect(summary.failures.contains { $0.contains("sample time 10000000000.0 is outside the years 1677 to 2262 that InfluxDB stores") },
                "\(summary.failures)")
    }

    @Test func partialWriteCountsStayWithinTheBatch() {
        let huge = #"{"error":"partial write: dropped=99999999999999999999999"}"#
        #expect(InfluxRejection(status: 400, body: huge, batchPoints: 7).rejected == 7)
        let max = #"{"error":"partial write: unable to parse 'a b': bad\nunable to parse 'c d': bad dropped=9223372036854775807"}"#
        #expect(InfluxRejection(status: 400, body: max, batchPoints: 7).rejected == 7)
    }

    @Test func samplesOutsideNanosecondTimesAreNotWritten() {
        let series = PrometheusSeries(labels: ["direction": "ingress"], samples: [
            PrometheusSample(timestampMilliseconds: 10_000_000_000_000, value: 1),
            PrometheusSample(timestampMilliseconds: 1_700_000_000_000, value: 2),
        ])
        #expect(PointMapping.points(.traffic, series: [series]).map(\.timestampNanoseconds) == [1_700_000_000_000_000_000])
    }

    @Test func aMetadataServerLifetimeOfIntMinIsOneLine() async throws {
        let router = Router()
        router.get("/computeMetadata/v1/instance/service-accounts/default/token") { _, _ in
            jsonResponse(.ok, #"{"access_token":"t","expires_in":-9223372036854775808,"token_type":"Bearer"}"#)
        }
        let message = try await withLocalServer(router) { port in
            let credentials = try BigQueryCredentials.resolve(
                mode: .metadata, credentialsFile: "", environment: ["GCE_METADATA_HOST": "127.0.0.1:\(port)"])
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = AccessTokenProvider(credentials: credentials, client: client, logger: Self.logger)
            var message = ""
            do {
                _ = try await provider.authorization(deadline: .now + .seconds(20))
            } catch {
                message = "\(error)"
            }
            try await client.shutdown()
            return message
        }
        #expect(message.contains("answered expires_in -9223372036854775808, not a token lifetime in seconds (0 to 86400)"), "\(message)")
        #expect(!message.contains("\n"))
    }

    @Test(arguments: [
        (#"{"last_end":1090,"pending":[{"data_set":"traffic","start":1000,"end":1090,"step":0,"sinks":["influxdb"]}]}"#,
         "window start 1000 end 1090 step 0 is not one a run writes"),
        (#"{"last_end":1090,"pending":[{"data_set":"traffic","start":1090,"end":1000,"step":30,"sinks":["influxdb"]}]}"#,
         "window start 1090 end 1000 step 30 is not one a run writes"),
        (#"{"last_end":1090,"pending":[{"data_set":"traffic","start":-9223372036854775808,"end":1000,"step":30,"sinks":["influxdb"]}]}"#,
         "window start -9223372036854775808 end 1000 step 30 is not one a run writes"),
        (#"{"last_end":9223372036854775807,"pending":[]}"#, "last_end 9223372036854775807 is not a Unix time a run writes"),
    ])
    func stateFilesNoRunWritesAreOneLine(text: String, message: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("federator-state-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try FederationState.load(from: path)
            Issue.record("accepted \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
        // A federator given that file starts empty and runs; the file is kept as NAME.bad.
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let configuration = FederatorConfiguration(
            prometheusAddress: "http://127.0.0.1:9", influx: nil, influxAPI: .auto, batchSize: 1000,
            queryOptions: QueryOptions(), stepSeconds: 30, timeOffsetSeconds: 0, jobTimeout: .seconds(1), stateFile: path)
        let federator = Federator(client: client, configuration: configuration, logger: Self.logger)
        #expect(await federator.currentState == FederationState())
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".bad")) == Data(text.utf8))
        try await client.shutdown()
    }
}
