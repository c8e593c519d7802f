import Hummingbird
import HummingbirdTesting
import NetAddress
import NIOCore
import PlanetMetrics
import Testing
import Traffic
@testable import Listener
@testable import Web

@Suite struct ApiTests {
    static let row10 = #"{"ip":"10.1.0.7","hostgroup":"db","domain":"db1.example","remote_dns_name":"","ingress_bytes":16000,"egress_bytes":4000,"bytes":20000,"ingress_rate":400,"egress_rate":100,"rate":500,"last_seen":1000,"ports":["5432/tcp"],"processes":["app"],"process_units":["app.service"],"series":2}"#
    static let row192 = #"{"ip":"192.0.2.9","hostgroup":"","domain":"","remote_dns_name":"","ingress_bytes":584,"egress_bytes":12000,"bytes":12584,"ingress_rate":10,"egress_rate":20,"rate":30,"last_seen":990,"ports":["icmp","443/tcp"],"processes":["nginx"],"process_units":["edge-proxy"],"series":3}"#
    static let rowV6 = #"{"ip":"fd00::2","hostgroup":"web","domain":"","remote_dns_name":"","ingress_bytes":600,"egress_bytes":300,"bytes":900,"ingress_rate":3,"egress_rate":1.5,"rate":4.5,"last_seen":995,"ports":["53/udp"],"processes":["<b>dns</b>"],"process_units":[],"series":2}"#

    static let edgeCurl = #"{"kind":"upstream","remote_ip":"198.51.100.1","remote_hostgroup":"","remote_domain":"","remote_dns_name":"","remote_address":"198.51.100.1","port":"80","protocol":"tcp","process":"curl","process_unit":"","local_addresses":["10.0.0.5"],"ingress_bytes":0,"egress_bytes":0,"bytes":0,"ingress_rate":0,"egress_rate":0,"rate":0}"#
    static let edgeDB = #"{"kind":"upstream","remote_ip":"10.1.0.7","remote_hostgroup":"db","remote_domain":"db1.example","remote_dns_name":"","remote_address":"db1.example","port":"5432","protocol":"tcp","process":"app","process_unit":"app.service","local_addresses":["10.0.0.5","10.0.0.6"],"ingress_bytes":16000,"egress_bytes":4000,"bytes":20000,"ingress_rate":400,"egress_rate":100,"rate":500}"#
    static let edgeDNS = #"{"kind":"upstream","remote_ip":"fd00::2","remote_hostgroup":"web","remote_domain":"","remote_dns_name":"","remote_address":"fd00::2","port":"53","protocol":"udp","process":"<b>dns</b>","process_unit":"","local_addresses":["fd00::1"],"ingress_bytes":600,"egress_bytes":300,"bytes":900,"ingress_rate":3,"egress_rate":1.5,"rate":4.5}"#
    static let edgeWeb = #"{"kind":"downstream","remote_ip":"192.0.2.9","remote_hostgroup":"","remote_domain":"","remote_dns_name":"","remote_address":"192.0.2.9","port":"443","protocol":"tcp","process":"nginx","process_unit":"edge-proxy","local_addresses":["10.0.0.5"],"ingress_bytes":500,"egress_bytes":12000,"bytes":12500,"ingress_rate":10,"egress_rate":20,"rate":30}"#

    func peers(_ query: String) throws -> String {
        let parameters = query.split(separator: "&").map { pair -> (key: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        let parsed = try PeersQuery.parse(parameters).get()
        return ApiDocuments.peers(time: ApiFixture.time, table: PeerTable(ApiFixture.activity), query: parsed,
                                  labels: ApiFixture.labels).text
    }

    /// The addresses of the rows `query` returns, in order, and how many matched.
    func order(_ query: String) throws -> ([String], Int) {
        let text = try peers(query)
        let ips = text.split(separator: "\"ip\":\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        let matched = Int(text.split(separator: "\"matched\":")[1].prefix { $0.isNumber })!
        return (ips, matched)
    }

    @Test func peersByBytesSummedOverDirectionProtocolPortAndProcess() throws {
        #expect(try peers("") == #"{"time":1005,"peers_total":3,"matched":3,"offset":0,"limit":100,"sort":"bytes","order":"desc","q":"","peers":["#
            + [Self.row10, Self.row192, Self.rowV6].joined(separator: ",") + "]}")
    }

    @Test func peersSortByEveryColumnBothWays() throws {
        #expect(try order("sort=in").0 == ["10.1.0.7", "fd00::2", "192.0.2.9"])
        #expect(try order("sort=out&order=asc").0 == ["fd00::2", "10.1.0.7", "192.0.2.9"])
        #expect(try order("sort=bytes&order=asc").0 == ["fd00::2", "192.0.2.9", "10.1.0.7"])
        #expect(try order("sort=rate").0 == ["10.1.0.7", "192.0.2.9", "fd00::2"])
        #expect(try order("sort=last_seen").0 == ["10.1.0.7", "fd00::2", "192.0.2.9"])
        #expect(try order("sort=ip").0 == ["10.1.0.7", "192.0.2.9", "fd00::2"])
        #expect(try order("sort=ip&order=desc").0 == ["fd00::2", "192.0.2.9", "10.1.0.7"])
        #expect(try order("sort=hostgroup").0 == ["192.0.2.9", "10.1.0.7", "fd00::2"])
        #expect(try order("sort=hostgroup&order=desc").0 == ["fd00::2", "10.1.0.7", "192.0.2.9"])
        #expect(try peers("sort=ip").contains(#""sort":"ip","order":"asc""#))
    }

    @Test func peersFilterByAddressNetworkLabelsProcessAndPort() throws {
        #expect(try order("q=10.1.").0 == ["10.1.0.7"])
        #expect(try order("q=fd00").0 == ["fd00::2"])
        #expect(try order("q=10.1.0.0/16").0 == ["10.1.0.7"])
        #expect(try order("q=192.0.2.0/24").0 == ["192.0.2.9"])
        #expect(try order("q=db").0 == ["10.1.0.7"])
        #expect(try order("q=example").0 == ["10.1.0.7"])
        #expect(try order("q=WEB").0 == ["fd00::2"])
        #expect(try order("q=nginx").0 == ["192.0.2.9"])
        #expect(try order("q=proxy").0 == ["192.0.2.9"])
        #expect(try order("q=app.service").0 == ["10.1.0.7"])
        #expect(try order("q=443").0 == ["192.0.2.9"])
        #expect(try order("q=53/udp").0 == ["fd00::2"])
        #expect(try order("q=53/tcp").0 == [])
        #expect(try order("q=<b>").0 == ["fd00::2"])
        #expect(try peers("q=nothing") == #"{"time":1005,"peers_total":3,"matched":0,"offset":0,"limit":100,"sort":"bytes","order":"desc","q":"nothing","peers":[]}"#)
    }

    @Test func peersPageThroughTheOrder() throws {
        #expect(try order("limit=1") == (["10.1.0.7"], 3))
        #expect(try order("limit=1&offset=1") == (["192.0.2.9"], 3))
        #expect(try order("limit=2&offset=2") == (["fd00::2"], 3))
        #expect(try order("offset=3") == ([], 3))
        #expect(try order("offset=1000000") == ([], 3))
        #expect(try order("q=1&limit=1&offset=1&sort=ip").0 == ["192.0.2.9"])
    }

    @Test func badPeersParametersSayWhatIsWrong() {
        func error(_ parameters: [(key: String, value: String)]) -> String? {
            if case .failure(let error) = PeersQuery.parse(parameters) { return error.message }
            return nil
        }
        #expect(error([("sort", "size")]) == #"sort "size": expected one of bytes, in, out, rate, last_seen, ip, hostgroup"#)
        #expect(error([("order", "up")]) == #"order "up": expected asc or desc"#)
        #expect(error([("limit", "0")]) == #"limit "0": expected a whole number from 1 to 1000"#)
        #expect(error([("limit", "1001")]) == #"limit "1001": expected a whole number from 1 to 1000"#)
        #expect(error([("limit", "ten")]) == #"limit "ten": expected a whole number from 1 to 1000"#)
        #expect(error([("offset", "-1")]) == #"offset "-1": expected a whole number, 0 or more"#)
        #expect(error([("page", "2")]) == #"unknown parameter "page"; known: sort, order, limit, offset, q"#)
        #expect(error([("sort", "in"), ("sort", "out")]) == "parameter sort given more than once")
        #expect(error([("q", String(repeating: "x", count: 201))]) == "q is 201 characters long; at most 200")
        #expect(error([("sort", "\n<script>")]) == #"sort "\n<script>": expected one of bytes, in, out, rate, last_seen, ip, hostgroup"#)
        #expect(error([("q", "  db  ")]) == nil)
    }

    @Test func dependenciesJoinEdgesWithTheirTrafficAndGroupByHostgroup() {
        let edges = DependencyJoin.edges(ApiFixture.report, activity: ApiFixture.activity)
        let text = ApiDocuments.dependencies(time: ApiFixture.time, succeeded: true, edges: edges, labels: ApiFixture.labels).text
        #expect(text == #"{"time":1005,"succeeded":true,"upstream":["# + [Self.edgeCurl, Self.edgeDB, Self.edgeDNS].joined(separator: ",")
            + #"],"downstream":["# + Self.edgeWeb + #"],"groups":[{"kind":"upstream","hostgroup":"db","edges":1,"peers":1,"bytes":20000,"rate":500},{"kind":"upstream","hostgroup":"web","edges":1,"peers":1,"bytes":900,"rate":4.5}]}"#)
    }

    @Test func dependenciesWithoutCaptureHaveNoBytes() {
        let edges = DependencyJoin.edges(ApiFixture.report, activity: nil)
        #expect(edges.count == 4)
        #expect(edges.allSatisfy { $0.bytes == 0 && $0.rate == 0 })
    }

    @Test func onePeerWithItsSeriesAndEdges() throws {
        let table = PeerTable(ApiFixture.activity)
        let edges = DependencyJoin.edges(ApiFixture.report, activity: ApiFixture.activity)
        let text = try #require(ApiDocuments.peer(IPAddress("192.0.2.9")!, time: ApiFixture.time, table: table, edges: edges,
                                                  labels: ApiFixture.labels)).text
        #expect(text == #"{"time":1005,"ip":"192.0.2.9","hostgroup":"","domain":"","remote_dns_name":"","ingress_bytes":584,"egress_bytes":12000,"bytes":12584,"ingress_rate":10,"egress_rate":20,"rate":30,"last_seen":990,"series":[{"direction":"egress","protocol":"tcp","port":"443","process":"nginx","process_unit":"edge-proxy","bytes":12000,"rate":20,"last_seen":989},{"direction":"ingress","protocol":"icmp","port":"","process":"","process_unit":"","bytes":84,"rate":0,"last_seen":900},{"direction":"ingress","protocol":"tcp","port":"443","process":"nginx","process_unit":"edge-proxy","bytes":500,"rate":10,"last_seen":990}],"dependencies":["# + Self.edgeWeb + "]}")

        let idle = try #require(ApiDocuments.peer(IPAddress("198.51.100.1")!, time: ApiFixture.time, table: table, edges: edges,
                                                  labels: ApiFixture.labels)).text
        #expect(idle == #"{"time":1005,"ip":"198.51.100.1","hostgroup":"","domain":"","remote_dns_name":"","ingress_bytes":0,"egress_bytes":0,"bytes":0,"ingress_rate":0,"egress_rate":0,"rate":0,"last_seen":null,"series":[],"dependencies":["# + Self.edgeCurl + "]}")
        #expect(ApiDocuments.peer(IPAddress("203.0.113.1")!, time: ApiFixture.time, table: table, edges: edges,
                                  labels: ApiFixture.labels) == nil)
    }

    @Test func summaryHasHostTrafficCaptureAndTaskHealth() {
        let text = ApiDocuments.summary(
            time: ApiFixture.time, version: "1.2.3", revision: "abc",
            host: HostView(hostname: "app1", address: IPAddress("10.0.0.5")!, addresses: [IPAddress("10.0.0.5")!, IPAddress("fd00::1")!]),
            local: ApiFixture.enrichment.local, capture: ApiFixture.capture, dependencies: (ApiFixture.report, true),
            scrape: (1000, [ScrapeRecord.Result(collector: "capture", seconds: 0.0021, success: false),
                            ScrapeRecord.Result(collector: "socketstat", seconds: 0.5, success: true)])).text
        let zeros = #"{"not_ip":0,"truncated":0,"malformed":0,"unsupported_link":0}"#
        #expect(text == #"{"time":1005,"version":"1.2.3","revision":"abc","host":{"hostname":"app1","ip":"10.0.0.5","addresses":["10.0.0.5","fd00::1"],"hostgroup":"app-servers","domain":"app1.example"},"#
            + #""traffic":{"ingress":{"bytes":17184,"rate":413},"egress":{"bytes":16300,"rate":121.5},"rate_window_seconds":12,"peers":3,"series":7,"series_limit":200000,"evicted_series":2,"process_bytes":{"resolved":33400,"unresolved":84}},"#
            + #""capture":{"enabled":true,"healthy":false,"packets":50,"kernel_dropped":1,"ring_dropped":3,"undecoded":{"not_ip":2,"truncated":0,"malformed":0,"unsupported_link":0},"wire_bytes":5120,"unattributed_bytes":{"both_local":120,"neither_local":0},"#
            + #""interfaces":[{"name":"eth0","capturing":true,"error":"","packets":40,"kernel_dropped":1,"ring_dropped":0,"undecoded":{"not_ip":2,"truncated":0,"malformed":0,"unsupported_link":0},"wire_bytes":5120,"#
            + #""kernel":{"receive_bytes":90210,"transmit_bytes":70110,"receive_packets":700,"transmit_packets":610,"receive_dropped":0,"transmit_dropped":0},"#
            + #""coverage":{"packets":40,"kernel_packets":41,"wire_bytes":5120,"kernel_bytes":5320}},"#
            + #"{"name":"eth1","capturing":true,"error":"","packets":10,"kernel_dropped":0,"ring_dropped":3,"undecoded":"# + zeros + #","wire_bytes":0,"kernel":null,"coverage":null},"#
            + #"{"name":"eth2","capturing":false,"error":"eth2: no such device","packets":0,"kernel_dropped":0,"ring_dropped":0,"undecoded":"# + zeros + #","wire_bytes":0,"kernel":null,"coverage":null}]},"#
            + #""socket_table":{"enabled":true,"succeeded":true,"upstreams":4,"downstreams":1,"servers":1},"#
            + #""tasks":{"scraped_at":1000,"collectors":[{"collector":"capture","success":false,"duration_seconds":0.002},{"collector":"socketstat","success":true,"duration_seconds":0.5}]}}"#)
    }

    @Test func summaryWithCaptureAndSocketTableOff() {
        let text = ApiDocuments.summary(
            time: 7, version: "1", revision: "r", host: HostView(hostname: "h", address: IPAddress("10.0.0.5")!, addresses: []),
            local: .unknown, capture: nil, dependencies: nil, scrape: nil).text
        #expect(text == #"{"time":7,"version":"1","revision":"r","host":{"hostname":"h","ip":"10.0.0.5","addresses":[],"hostgroup":"","domain":""},"traffic":null,"capture":{"enabled":false},"socket_table":{"enabled":false},"tasks":{"scraped_at":null,"collectors":[]}}"#)
    }

    @Test func graphsOfOneRangeOrAll() throws {
        let history = ApiFixture.history
        let month = ApiDocuments.graphs(time: ApiFixture.time, history: history, ranges: [.month]).text
        let day = Int64(1_699_920_000)
        let empty = (1...30).reversed().map { #"{"start":\#(day - Int64($0) * 86400),"ingress_bytes":0,"egress_bytes":0}"# }
        #expect(month == #"{"time":1005,"graphs":[{"range":"month","bucket_seconds":86400,"buckets":["# + empty.joined(separator: ",")
            + #",{"start":1699920000,"ingress_bytes":2000,"egress_bytes":0}]}]}"#)
        let minute = history.buckets(.minute)
        #expect(minute.suffix(3) == [HistoryBucket(start: 1_700_000_001, ingressBytes: 700, egressBytes: 0),
                                     HistoryBucket(start: 1_700_000_002, ingressBytes: 0, egressBytes: 0),
                                     HistoryBucket(start: 1_700_000_003, ingressBytes: 1300, egressBytes: 0)])
        let all = ApiDocuments.graphs(time: ApiFixture.time, history: history, ranges: HistoryRange.allCases).text
        #expect(all.components(separatedBy: "\"range\":").count == 5)
        #expect(ApiDocuments.graphs(time: 1, history: nil, ranges: [.hour]).text
            == #"{"time":1,"graphs":[{"range":"hour","bucket_seconds":60,"buckets":[]}]}"#)
    }

    @Test func graphRangeParameter() throws {
        #expect(try ApiDocuments.graphRanges([]).get() == HistoryRange.allCases)
        #expect(try ApiDocuments.graphRanges([("range", "day")]).get() == [.day])
        func error(_ parameters: [(key: String, value: String)]) -> String? {
            if case .failure(let error) = ApiDocuments.graphRanges(parameters) { return error.message }
            return nil
        }
        #expect(error([("range", "week")]) == #"range "week": expected minute, hour, day or month"#)
        #expect(error([("range", "day"), ("range", "hour")]) == "parameter range given more than once")
        #expect(error([("ranges", "day")]) == #"unknown parameter "ranges"; known: range"#)
    }

    @Test func jsonStringsEscapeQuotesBackslashesAndControls() {
        #expect(JSONValue.string("a\"b\\c\n\u{1}\u{2028}<b>é").text == #""a\"b\\c\n\u0001\u2028<b>é""#)
        #expect(JSONValue.number(.nan).text == "0")
        #expect(JSONValue.number(2.0 / 3).text == "0.667")
        #expect(JSONValue.number(1e20).text == "1e+20")
    }

    // MARK: - over HTTP

    let registry = MetricsRegistry(collectors: [], version: "1.2.3", revision: "abc")

    func get(_ app: some ApplicationProtocol, _ uri: String, _ check: @escaping @Sendable (HTTPResponse.Status, String) -> Void) async throws {
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                check(response.status, String(buffer: response.body))
            }
        }
    }

    @Test func routesServeJSONAndRefuseBadParameters() async throws {
        let app = Application(router: WebServer.router(registry: registry, ui: ApiFixture.sources))
        try await get(app, "/api/v1/peers?sort=in&limit=1") { status, body in
            #expect(status == .ok)
            #expect(body == #"{"time":1005,"peers_total":3,"matched":3,"offset":0,"limit":1,"sort":"in","order":"desc","q":"","peers":["# + Self.row10 + "]}\n")
        }
        try await get(app, "/api/v1/peers?q=10.1.0.0%2F16") { status, body in
            #expect(status == .ok && body.contains(#""matched":1"#) && body.contains(#""q":"10.1.0.0/16""#))
        }
        try await get(app, "/api/v1/peers?sort=size") { status, body in
            #expect(status == .badRequest)
            #expect(body == #"{"error":"sort \"size\": expected one of bytes, in, out, rate, last_seen, ip, hostgroup"}"# + "\n")
        }
        try await get(app, "/api/v1/peers/fd00%3A%3A2") { status, body in
            #expect(status == .ok && body.hasPrefix(#"{"time":1005,"ip":"fd00::2","hostgroup":"web""#))
        }
        try await get(app, "/api/v1/peers/10.1.0.7") { status, body in
            #expect(status == .ok && body.contains(#""dependencies":["# + Self.edgeDB + "]"))
        }
        try await get(app, "/api/v1/peers/not-an-ip") { status, body in
            #expect(status == .badRequest && body == #"{"error":"\"not-an-ip\" is not an IPv4 or IPv6 address"}"# + "\n")
        }
        try await get(app, "/api/v1/peers/203.0.113.1") { status, body in
            #expect(status == .notFound && body == #"{"error":"no traffic or dependency with 203.0.113.1 in memory"}"# + "\n")
        }
        try await get(app, "/api/v1/graphs?range=week") { status, body in
            #expect(status == .badRequest && body.contains("expected minute, hour, day or month"))
        }
        try await get(app, "/api/v1/graphs?range=minute") { status, body in
            #expect(status == .ok && body.contains(#"{"start":1700000003,"ingress_bytes":1300,"egress_bytes":0}"#))
        }
        try await get(app, "/api/v1/dependencies") { status, body in
            #expect(status == .ok && body.contains(Self.edgeWeb))
        }
        try await get(app, "/api/v1/dependencies?x=1") { status, body in
            #expect(status == .badRequest && body == #"{"error":"unknown parameter \"x\"; this endpoint takes none"}"# + "\n")
        }
        try await get(app, "/api/v1/summary") { status, body in
            // With no scrape before it, the summary scrapes once for the collectors' health.
            #expect(status == .ok && body.contains(#""tasks":{"scraped_at":"#) && !body.contains(#""scraped_at":null"#))
            #expect(body.contains(#""traffic":{"ingress":{"bytes":17184,"rate":413}"#))
        }
        try await get(app, "/api/v2/peers") { status, body in
            #expect(status == .notFound && body.contains("docs/api.md"))
        }
    }

    @Test func thePageIsServedFromTheBinaryAndIsSmall() async throws {
        let app = Application(router: WebServer.router(registry: registry, ui: ApiFixture.sources))
        try await get(app, "/") { status, body in
            #expect(status == .ok && body.contains(#"<script src="/app.js" defer></script>"#))
        }
        try await get(app, "/app.js") { status, body in
            #expect(status == .ok && body.contains("textContent"))
        }
        try await get(app, "/app.css") { status, _ in #expect(status == .ok) }
        let total = WebPage.assets.reduce(0) { $0 + $1.bytes.count }
        #expect(total < 150_000, "page assets are \(total) bytes")
        // Nothing is loaded from another host.
        for asset in WebPage.assets {
            let text = String(decoding: asset.bytes, as: UTF8.self)
            #expect(!text.contains("http://") && !text.contains("https://") || text.contains("http://www.w3.org/2000/svg"))
            #expect(!text.contains("innerHTML") && !text.contains("outerHTML") && !text.contains("insertAdjacentHTML"))
        }
    }

    @Test func withoutTheUIRootIsTheLandingPageAndThereIsNoAPI() async throws {
        let app = Application(router: WebServer.router(registry: registry))
        try await get(app, "/") { status, body in
            #expect(status == .ok && body.contains(#"href="/metrics""#) && !body.contains("app.js"))
        }
        try await get(app, "/api/v1/summary") { status, _ in #expect(status == .notFound) }
        try await get(app, "/api/v1/peers") { status, _ in #expect(status == .notFound) }
        try await get(app, "/app.js") { status, _ in #expect(status == .notFound) }
    }
}
