import Exposition
import HTTPTypes
import Hummingbird
import NIOCore
import PlanetMetrics

/// GET /metrics: the exposition of every collector, rendered part by part and sent as it
/// goes, so a scrape of many series never holds the whole exposition in memory.
///
/// A gzip scrape (Prometheus asks for gzip) started within a second of another is sent
/// that one's rendering; a plain scrape started while another plain rendering is still
/// being written is sent that one (no older than it would get alone: people read plain
/// text with curl and expect it current). Concurrent scrapes cost one rendering and one
/// snapshot of the tables.
enum MetricsEndpoint {
    /// How long a rendering is shared with later scrapes.
    static let sharedRenderingAge: Duration = .seconds(1)

    static func add(to router: Router<BasicRequestContext>, registry: MetricsRegistry) {
        let gzipped = SharedRendering(registry: registry, maxAge: sharedRenderingAge, gzip: true)
        let plain = SharedRendering(registry: registry, maxAge: sharedRenderingAge, gzip: false, shareFinished: false)
        router.get("/metrics") { request, _ -> Response in
            let gzip = AcceptEncoding.allowsGzip(request.headers[.acceptEncoding])
            let rendering = (gzip ? gzipped : plain).rendering()
            let body = ResponseBody { response in
                var index = 0
                while let part = await rendering.part(index) {
                    try await response.write(part)
                    index += 1
                }
                try await response.finish(nil)
            }
            var headers: HTTPFields = [.contentType: ExpositionWriter.contentType, .vary: "Accept-Encoding"]
            if gzip { headers[.contentEncoding] = "gzip" }
            return Response(status: .ok, headers: headers, body: body)
        }
    }
}
