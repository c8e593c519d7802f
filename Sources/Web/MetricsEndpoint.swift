import Exposition
import Hummingbird
import NIOCore
import PlanetMetrics

/// GET /metrics: the exposition of every collector, rendered part by part and sent as it
/// goes, so a scrape of many series never holds the whole exposition in memory.
///
/// A scraper that accepts gzip (Prometheus does) gets the exposition compressed, from a
/// rendering shared with every other such scrape started within the same second.
enum MetricsEndpoint {
    /// How long a gzip rendering is shared with later scrapes.
    static let sharedRenderingAge: Duration = .seconds(1)

    static func add(to router: Router<BasicRequestContext>, registry: MetricsRegistry) {
        let shared = SharedRendering(registry: registry, maxAge: sharedRenderingAge)
        router.get("/metrics") { request, _ -> Response in
            if AcceptEncoding.allowsGzip(request.headers[.acceptEncoding]) {
                let rendering = shared.rendering()
                let body = ResponseBody { response in
                    var index = 0
                    while let part = await rendering.part(index) {
                        try await response.write(part)
                        index += 1
                    }
                    try await response.finish(nil)
                }
                return Response(status: .ok, headers: [
                    .contentType: ExpositionWriter.contentType, .contentEncoding: "gzip", .vary: "Accept-Encoding",
                ], body: body)
            }
            let body = ResponseBody { response in
                try await registry.write { try await response.write(ByteBuffer(bytes: $0)) }
                try await response.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: ExpositionWriter.contentType, .vary: "Accept-Encoding"],
                            body: body)
        }
    }
}
