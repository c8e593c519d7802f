import Diagnostics
import Foundation
import Hummingbird
import Inventory
import NetAddress
import NIOCore
import PlanetMetrics
import Traffic

/// GET /api/v1/{summary,graphs,peers,peers/{ip},dependencies,tcp}: JSON for the page and for
/// scripts (docs/api.md). A parameter the API does not know, or a value it cannot use,
/// gets 400 with a one-line JSON error.
enum ApiRoutes {
    /// How old the latest scrape may be before the summary renders one itself for task health.
    static let scrapeMaxAge = 60.0

    static func add(to router: Router<BasicRequestContext>, sources: WebUISources, registry: MetricsRegistry) {
        router.get("/api/v1/summary") { request, _ -> Response in
            if let error = noParameters(request) { return error }
            if (registry.lastScrape.get().map { sources.now() - $0.time } ?? .infinity) > scrapeMaxAge {
                // Task health is what a scrape says; with no recent scrape, do one and discard it.
                await registry.write { _ in }
            }
            let enrichment = sources.enrichment()
            let capture = sources.capture?()
            let summary = ApiDocuments.summary(
                time: capture?.activity.time ?? sources.now(), version: registry.version, revision: registry.revision,
                host: sources.host(), local: enrichment.local, capture: capture,
                dependencies: sources.dependencies?(), scrape: registry.lastScrape.get())
            return json(CaptureEndpoint.summary(summary, settings: sources.captureOnDemand))
        }

        router.get("/api/v1/graphs") { request, _ -> Response in
            switch ApiDocuments.graphRanges(parameters(request)) {
            case .failure(let error): return badRequest(error)
            case .success(let ranges): return json(ApiDocuments.graphs(time: sources.now(), history: sources.history, ranges: ranges))
            }
        }

        router.get("/api/v1/peers") { request, _ -> Response in
            let query: PeersQuery
            switch PeersQuery.parse(parameters(request)) {
            case .failure(let error): return badRequest(error)
            case .success(let parsed): query = parsed
            }
            let labels = labeller(sources.enrichment())
            guard let capture = sources.capture?() else {
                return json(ApiDocuments.peers(time: sources.now(), table: PeerTable(.empty(at: sources.now())), query: query, labels: labels))
            }
            return json(ApiDocuments.peers(time: capture.activity.time, table: PeerTable(capture.activity), query: query, labels: labels))
        }

        router.get("/api/v1/peers/:ip") { request, context -> Response in
            if let error = noParameters(request) { return error }
            let text = context.parameters.get("ip").map { $0.removingPercentEncoding ?? $0 } ?? ""
            guard let ip = IPAddress(text) else {
                return badRequest(QueryError(message: "\(quoted(text)) is not an IPv4 or IPv6 address"))
            }
            let capture = sources.capture?()
            let table = capture.map { PeerTable($0.activity) }
            let edges = sources.dependencies?().report.map { DependencyJoin.edges($0, activity: capture?.activity) } ?? []
            let time = capture?.activity.time ?? sources.now()
            guard let document = ApiDocuments.peer(ip, time: time, table: table, edges: edges, labels: labeller(sources.enrichment())) else {
                return json(.object([("error", .string("no traffic or dependency with \(ip) in memory"))]), status: .notFound)
            }
            return json(document)
        }

        router.get("/api/v1/dependencies") { request, _ -> Response in
            if let error = noParameters(request) { return error }
            let capture = sources.capture?()
            let reading = sources.dependencies?()
            let edges = reading?.report.map { DependencyJoin.edges($0, activity: capture?.activity) } ?? []
            return json(ApiDocuments.dependencies(time: capture?.activity.time ?? sources.now(), succeeded: reading?.succeeded ?? false,
                                                  edges: edges, labels: labeller(sources.enrichment())))
        }

        router.get("/api/v1/tcp") { request, _ -> Response in
            var limit = 500
            var remoteIP: IPAddress? = nil
            for (key, value) in parameters(request) {
                if key == "remote_ip", let address = IPAddress(value) {
                    remoteIP = address
                    continue
                }
                guard key == "limit", let number = Int(value), number >= 1, number <= 100_000 else {
                    return badRequest(QueryError(message: "unknown parameter or value \(quoted(key))=\(quoted(value)); this endpoint takes limit=1..100000 and remote_ip=ADDRESS"))
                }
                limit = number
            }
            let capture = sources.capture?()
            return json(ApiDocuments.tcpHealth(time: capture?.activity.time ?? sources.now(), snapshot: capture?.activity.snapshot.tcpHealth,
                                               limit: limit, remoteIP: remoteIP, labels: labeller(sources.enrichment())))
        }

        router.get("/api/**") { _, _ -> Response in
            json(.object([("error", "no such endpoint; the API is described in docs/api.md")]), status: .notFound)
        }
    }

    /// Inventory labels for a peer ("" for both when the inventory does not know it).
    static func labeller(_ enrichment: Enrichment) -> (IPAddress) -> InventoryHost {
        { enrichment.lookup($0) ?? .unknown }
    }

    static func parameters(_ request: Request) -> [(key: String, value: String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    static func noParameters(_ request: Request) -> Response? {
        guard let first = request.uri.queryParameters.first else { return nil }
        return badRequest(QueryError(message: "unknown parameter \(quoted(first.key)); this endpoint takes none"))
    }

    static func badRequest(_ error: QueryError) -> Response {
        json(.object([("error", .string(error.message))]), status: .badRequest)
    }

    static func json(_ document: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: document.text + "\n")))
    }
}

extension TrafficActivity {
    /// No traffic at `time`: what the peers table shows when capture is off.
    static func empty(at time: Double) -> TrafficActivity {
        TrafficActivity(snapshot: TrafficSnapshot(), rates: [], lastSeen: [], time: time)
    }
}
