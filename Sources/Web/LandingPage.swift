import Hummingbird
import NIOCore

/// GET /: a page linking the metrics and the health check.
enum LandingPage {
    static func add(to router: Router<BasicRequestContext>, version: String) {
        let page = html(version: version)
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
    }

    static func html(version: String) -> String {
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
