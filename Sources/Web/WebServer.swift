import Exposition
import Hummingbird
import PlanetMetrics
import NIOCore

/// The HTTP endpoint: GET /metrics (Prometheus text format), GET / (a landing page
/// linking it) and GET /-/healthy.
public enum WebServer {
    /// The router serving the agent's endpoints from `registry`.
    public static func router(registry: MetricsRegistry) -> Router<BasicRequestContext> {
        let landingPage = landingPage(version: registry.version)
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            // Rendered part by part and sent as it goes: a scrape of many series never
            // holds the whole exposition in memory.
            let body = ResponseBody { response in
                try await registry.write { try await response.write(ByteBuffer(bytes: $0)) }
                try await response.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: ExpositionWriter.contentType], body: body)
        }

        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: landingPage)))
        }
        router.get("/-/healthy") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: "Healthy\n")))
        }
        return router
    }

    static func landingPage(version: String) -> String {
        """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><title>Planet Exporter</title></head>
        <body>
        <h1>Planet Exporter</h1>
        <p>Network dependencies of this machine and the bytes that flow over them.</p>
        <ul>
        <li><a href="/metrics">Metrics</a></li>
        <li><a href="/-/healthy">Health</a></li>
        </ul>
        <p>Version \(version)</p>
        </body>
        </html>

        """
    }
}
