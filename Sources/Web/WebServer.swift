import Hummingbird
import NIOCore
import PlanetMetrics

/// The agent's HTTP endpoints: GET /metrics (Prometheus text format), GET / (the page,
/// or a landing page linking /metrics when the page is off), /api/v1 with the page,
/// and GET /-/healthy.
public enum WebServer {
    /// The router serving the agent's endpoints from `registry`, and the page and
    /// /api/v1 from `ui` when given; /api/v1/capture with `capture` when given (with `ui`).
    public static func router(registry: MetricsRegistry, ui: WebUISources? = nil,
                              capture: (sources: CaptureOnDemandSources, counters: CaptureOnDemandCounters)? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        MetricsEndpoint.add(to: router, registry: registry)
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
