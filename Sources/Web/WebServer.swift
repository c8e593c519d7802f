import Hummingbird
import NIOCore
import PlanetMetrics

/// The agent's HTTP endpoints: GET /metrics (Prometheus text format), GET / (a landing
/// page linking it) and GET /-/healthy.
public enum WebServer {
    /// The router serving the agent's endpoints from `registry`.
    public static func router(registry: MetricsRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        MetricsEndpoint.add(to: router, registry: registry)
        LandingPage.add(to: router, version: registry.version)
        router.get("/-/healthy") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "Healthy\n")))
        }
        return router
    }
}
