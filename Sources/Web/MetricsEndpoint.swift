import Exposition
import HTTPTypes
import Hummingbird
import Listener
import NIOCore
import PlanetMetrics

/// GET /metrics: the exposition of every collector, rendered part by part and sent as it
/// goes, so a scrape of many series never holds the whole exposition in memory.
///
/// A gzip scrape (Prometheus asks for gzip) started within a second of another is sent
/// that one's rendering; a plain scrape started while another plain rendering is still
/// being written is sent that one (no older than it would get alone: people read plain
/// text with curl and expect it current). Concurrent scrapes cost one rendering and one
/// snapshot of the tables. The renderings held for clients still reading count against
/// `memory`; a client cut at its bound sees its connection closed before the end.
enum MetricsEndpoint {
    /// How long a rendering is shared with later scrapes.
    static let sharedRenderingAge: Duration = .seconds(1)

    static func add(to router: Router<BasicRequestContext>, registry: MetricsRegistry, memory: ResponseMemory) {
        let gzipped = SharedRendering(registry: registry, maxAge: sharedRenderingAge, gzip: true, memory: memory)
        let plain = SharedRendering(registry: registry, maxAge: sharedRenderingAge, gzip: false, shareFinished: false, memory: memory)
        router.get("/metrics") { request, _ -> Response in
            let gzip = AcceptEncoding.allowsGzip(request.headers[.acceptEncoding])
            let rendering = (gzip ? gzipped : plain).rendering()
            let body = ResponseBody { response in
                try await rendering.send { try await response.write($0) }
                try await response.finish(nil)
            }
            var headers: HTTPFields = [.contentType: ExpositionWriter.contentType, .vary: "Accept-Encoding"]
            if gzip { headers[.contentEncoding] = "gzip" }
            return Response(status: .ok, headers: headers, body: body)
        }
    }
}
