import Hummingbird
import Listener
import NIOCore
import PlanetMetrics

/// The agent's HTTP endpoints: GET /metrics (Prometheus text format), GET / (the page,
/// or a landing page linking /metrics when the page is off), /api/v1 with the page,
/// and GET /-/healthy.
public enum WebServer {
    /// Bytes of /metrics renderings held at once for clients still reading them, by
    /// default (-web.response-memory-bytes): a dozen renderings of the largest plain
    /// exposition (about 10 MB at 200,000 series), well under the unit's MemoryMax.
    public static let defaultResponseMemory = 128 << 20

    /// The router serving the agent's endpoints from `registry`, and the page and
    /// /api/v1 from `ui` when given; /api/v1/capture with `capture` when given (with `ui`);
    /// the /metrics renderings held for slow clients are bounded by `responseMemory`.
    public static func router(registry: MetricsRegistry, ui: WebUISources? = nil,
                              capture: (sources: CaptureOnDemandSources, counters: CaptureOnDemandCounters)? = nil,
                              responseMemory: ResponseMemory = ResponseMemory(limit: defaultResponseMemory)) -> Router<BasicRequestContext> {
        let router = Router()
        MetricsEndpoint.add(to: router, registry: registry, memory: responseMemory)
        if var ui {
            WebPage.add(to: router)
            if let capture {
                CaptureEndpoint.add(to: router, sources: capture.sources, counters: capture.counters)
                ui.captureOnDemand = capture.sources.settings
            }
            ServicesDocument.add(to: router, sources: ui)
            ApiRoutes.add(to: router, sources: ui, registry: registry)
        } else {
            LandingPage.add(to: router, version: registry.version)
        }
        router.get("/-/healthy") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "Healthy\n")))
        }
        return router
    }
}
