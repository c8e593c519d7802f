import Exposition
import Hummingbird
import HummingbirdTesting
import PlanetMetrics
import NIOCore
import Testing
import Listener
import Web

/// A collector writing many series in parts, as the capture collector does.
struct ManySeriesCollector: MetricsCollector {
    let name = "many"
    let series: Int

    func collect(into writer: inout ExpositionWriter) -> Bool {
        var renderer = makeRenderer()
        while true { if let success = renderer.renderNext(into: &writer) { return success } }
    }

    func makeRenderer() -> any CollectorRenderer { Renderer(series: series) }

    struct Renderer: CollectorRenderer {
        let series: Int
        var next = 0
        mutating func renderNext(into writer: inout ExpositionWriter) -> Bool? {
            if next == 0 { writer.family("test_series", help: "A test family", kind: .gauge) }
            let end = min(series, next + 500)
            while next < end {
                writer.sample("test_series", labels: [("n", String(next))], UInt64(next))
                next += 1
            }
            return next == series ? false : nil
        }
    }
}

@Suite struct WebServerTests {
    let registry = MetricsRegistry(collectors: [ManySeriesCollector(series: 20_000)], version: "0.1.0", revision: "test")

    @Test func metricsAreStreamedWhole() async throws {
        let expected = await registry.render()
        #expect(expected.count > 4 * MetricsRegistry.partBytes, "the exposition spans several parts")
        let app = Application(router: WebServer.router(registry: registry))
        try await app.test(.live) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == ExpositionWriter.contentType)
                let text = String(decoding: Array(response.body.readableBytesView), as: UTF8.self)
                // Everything but the measured durations is the same as a render in one piece.
                let sameAsWhole = Self.withoutDurations(text) == Self.withoutDurations(String(decoding: expected, as: UTF8.self))
                #expect(sameAsWhole)
                #expect(text.contains("test_series{n=\"19999\"} 19999\n"))
                #expect(text.contains("planet_scrape_collector_success{collector=\"many\"} 0\n"))
                #expect(text.hasSuffix("planet_exporter_build_info{revision=\"\(registry.revision)\",version=\"\(registry.version)\"} 1\n"))
            }
        }
    }

    static func withoutDurations(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter { !$0.hasPrefix("planet_scrape_collector_duration_seconds{") }
    }

    @Test func landingPageAndHealth() async throws {
        let app = Application(router: WebServer.router(registry: registry))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("href=\"/metrics\""))
            }
            try await client.execute(uri: "/-/healthy", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
