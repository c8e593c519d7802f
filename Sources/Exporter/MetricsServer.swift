import Exposition
import Hummingbird
import NIOCore

/// The HTTP endpoint: GET /metrics (Prometheus text format), GET / (a landing page
/// linking it) and GET /-/healthy.
public enum MetricsServer {
    /// The router serving the agent's endpoints from `registry`.
    public static func router(registry: MetricsRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let bytes = registry.render()
            // Sent in slices so the response never holds a second copy of a large exposition.
            let body = ResponseBody(contentLength: bytes.count) { writer in
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + chunkSize)
                    try await writer.write(ByteBuffer(bytes: bytes[offset..<end]))
                    offset = end
                }
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

    static let chunkSize = 64 << 10

    static let landingPage = """
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
        <p>Version \(BuildInfo.version)</p>
        </body>
        </html>

        """
}
