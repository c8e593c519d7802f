import CZlib
import Dispatch
import Exposition
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlanetMetrics
import Synchronization
import Testing
@testable import Listener
@testable import Web

/// Decompresses one gzip member with zlib's inflate (the other direction from the agent's code).
func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    struct GzipError: Error { let status: Int32 }
    var stream = z_stream()
    guard czlib_inflate_init_gzip(&stream) == Z_OK else { throw GzipError(status: -1) }
    defer { inflateEnd(&stream) }
    var input = bytes
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    try input.withUnsafeMutableBufferPointer { input in
        stream.next_in = input.baseAddress
        stream.avail_in = UInt32(input.count)
        var status = Z_OK
        while status != Z_STREAM_END {
            let produced = chunk.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                status = inflate(&stream, Z_NO_FLUSH)
                return out.count - Int(stream.avail_out)
            }
            guard status == Z_OK || status == Z_STREAM_END else { throw GzipError(status: status) }
            output += chunk[0..<produced]
            if status == Z_OK && produced == 0 && stream.avail_in == 0 { throw GzipError(status: Z_BUF_ERROR) }
        }
        guard stream.avail_in == 0 else { throw GzipError(status: Z_DATA_ERROR) }
    }
    return output
}

@Suite struct MetricsCompressionTests {
    let registry = MetricsRegistry(collectors: [ManySeriesCollector(series: 20_000)], version: "0.1.0", revision: "test")
    let unbounded = ResponseMemory(limit: .max)

    func scrape(_ client: some TestClientProtocol, acceptEncoding: String?) async throws
        -> (status: HTTPResponse.Status, encoding: String?, vary: String?, body: [UInt8]) {
        var headers = HTTPFields()
        if let acceptEncoding { headers[.acceptEncoding] = acceptEncoding }
        return try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
            (response.status, response.headers[.contentEncoding], response.headers[.vary],
             Array(response.body.readableBytesView))
        }
    }

    @Test func gzipDecodesToTheSameExposition() async throws {
        let expected = await registry.render()
        let app = Application(router: WebServer.router(registry: registry))
        try await app.test(.live) { client in
            let plain = try await scrape(client, acceptEncoding: nil)
            let gzipped = try await scrape(client, acceptEncoding: "gzip")
            #expect(plain.encoding == nil)
            #expect(gzipped.status == .ok)
            #expect(gzipped.encoding == "gzip")
            #expect(gzipped.vary == "Accept-Encoding")
            #expect(gzipped.body.count * 5 < expected.count, "compressed: \(gzipped.body.count) of \(expected.count) bytes")
            let decoded = String(decoding: try gunzip(gzipped.body), as: UTF8.self)
            #expect(WebServerTests.withoutDurations(decoded) == WebServerTests.withoutDurations(String(decoding: expected, as: UTF8.self)))
            #expect(WebServerTests.withoutDurations(decoded) == WebServerTests.withoutDurations(String(decoding: plain.body, as: UTF8.self)))
        }
    }

    @Test func encodingFollowsAcceptEncoding() async throws {
        let app = Application(router: WebServer.router(registry: registry))
        try await app.test(.live) { client in
            for header in ["gzip", "deflate, gzip;q=1.0, *;q=0.5", "x-gzip", "br, GZIP"] {
                #expect(try await scrape(client, acceptEncoding: header).encoding == "gzip", "\(header)")
            }
            for header in ["identity", "gzip;q=0", "deflate, br", "gzip ; q=0.000", ""] {
                let response = try await scrape(client, acceptEncoding: header)
                #expect(response.encoding == nil, "\(header)")
                #expect(String(decoding: response.body, as: UTF8.self).hasPrefix("# HELP test_series"))
            }
        }
    }

    func collect(_ rendering: SharedRendering.Rendering) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        try await rendering.send { bytes += $0.readableBytesView }
        return bytes
    }

    @Test func scrapesWithinTheAgeShareOneRendering() async throws {
        let shared = SharedRendering(registry: registry, maxAge: .seconds(3600), memory: unbounded)
        let first = shared.rendering()
        let second = shared.rendering()
        #expect(first === second)
        let (a, b) = try await (collect(first), collect(second))
        #expect(a == b)
        let third = shared.rendering()
        #expect(third === first, "a finished rendering is shared too")
        let expected = await registry.render()
        #expect(WebServerTests.withoutDurations(String(decoding: try gunzip(a), as: UTF8.self))
                == WebServerTests.withoutDurations(String(decoding: expected, as: UTF8.self)))
    }

    @Test func plainScrapesShareARenderingInProgressOnly() async throws {
        let gate = GatedCollector()
        let registry = MetricsRegistry(collectors: [ManySeriesCollector(series: 2_000), gate], version: "0.1.0", revision: "test")
        let shared = SharedRendering(registry: registry, maxAge: .seconds(3600), gzip: false, shareFinished: false, memory: unbounded)
        // The rendering cannot finish before the gate opens: every scrape until then shares it.
        let renderings = (0..<8).map { _ in shared.rendering() }
        #expect(renderings.allSatisfy { $0 === renderings[0] })
        gate.open()
        var bodies: [[UInt8]] = []
        for rendering in renderings { bodies.append(try await collect(rendering)) }
        let same = bodies.allSatisfy { $0 == bodies[0] }
        #expect(same, "scrapes of one rendering got different bodies")
        #expect(gate.collected == 1)
        let expected = await registry.render()
        #expect(WebServerTests.withoutDurations(String(decoding: bodies[0], as: UTF8.self))
                == WebServerTests.withoutDurations(String(decoding: expected, as: UTF8.self)))
        // Finished, it is not handed to a later scrape: that one renders afresh.
        #expect(shared.rendering() !== renderings[0])
    }

    @Test func anOlderRenderingIsNotShared() async throws {
        let shared = SharedRendering(registry: registry, maxAge: .zero, memory: unbounded)
        let first = shared.rendering()
        let second = shared.rendering()
        #expect(first !== second)
        let (a, b) = try await (collect(first), collect(second))
        #expect(try gunzip(a).count > 0 && gunzip(b).count > 0)
    }

    @Test func acceptEncodingParsing() {
        #expect(AcceptEncoding.allowsGzip("gzip"))
        #expect(AcceptEncoding.allowsGzip("gzip, deflate"))
        #expect(AcceptEncoding.allowsGzip("deflate;q=0.5,gzip;q=0.1"))
        #expect(!AcceptEncoding.allowsGzip(nil))
        #expect(!AcceptEncoding.allowsGzip("gzip;q=0"))
        #expect(!AcceptEncoding.allowsGzip("gzipped"))
        #expect(!AcceptEncoding.allowsGzip("*"))
    }
}

/// Counts how many times the registry rendered it, and holds each rendering until
/// `open()` is called.
final class GatedCollector: MetricsCollector, Sendable {
    let name = "gated"
    private let count = Mutex(0)
    private let gate = DispatchSemaphore(value: 0)

    var collected: Int { count.withLock { $0 } }

    func open() { gate.signal() }

    func collect(into writer: inout ExpositionWriter) -> Bool {
        count.withLock { $0 += 1 }
        // Once opened it stays open for later renderings.
        gate.wait()
        gate.signal()
        return true
    }
}
