import Exposition
import Hummingbird
import NIOCore
import PlanetMetrics

/// GET /metrics: the exposition of every collector, rendered part by part and sent as it
/// goes, so a scrape of many series never holds the whole exposition in memory.
enum MetricsEndpoint {
    static func add(to router: Router<BasicRequestContext>, registry: MetricsRegistry) {
        router.get("/metrics") { _, _ -> Response in
            let body = ResponseBody { response in
                try await registry.write { try await response.write(ByteBuffer(bytes: $0)) }
                try await response.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: ExpositionWriter.contentType], body: body)
        }
    }
}
