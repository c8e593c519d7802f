import Hummingbird
import NIOCore

/// GET /, /app.css, /app.js: the page, served from bytes compiled into the binary
/// (Page/index.html, app.css, app.js), so it works on hosts with no way out.
enum WebPage {
    /// Every asset: path, content type, bytes.
    static let assets: [(path: String, contentType: String, bytes: [UInt8])] = [
        ("/", "text/html; charset=utf-8", PackageResources.index_html),
        ("/app.css", "text/css; charset=utf-8", PackageResources.app_css),
        ("/app.js", "text/javascript; charset=utf-8", PackageResources.app_js),
    ]

    static func add(to router: Router<BasicRequestContext>) {
        for asset in assets {
            let buffer = ByteBuffer(bytes: asset.bytes)
            router.get(RouterPath(asset.path)) { _, _ -> Response in
                Response(status: .ok,
                         headers: [.contentType: asset.contentType, .cacheControl: "no-cache",
                                   .init("X-Content-Type-Options")!: "nosniff",
                                   .init("Content-Security-Policy")!: contentSecurityPolicy],
                         body: ResponseBody(byteBuffer: buffer))
            }
        }
    }

    /// Nothing but this agent's own script, styles and API: no inline script, no other host.
    static let contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
}
