import Capture
import Exposition
import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlanetMetrics
import Testing
@testable import Web

/// /api/v1/capture: its bounds, its refusals, and (as root) a real capture on loopback.
struct CaptureEndpointTests {
    static let settings: CaptureOnDemandSettings = {
        var settings = CaptureOnDemandSettings()
        settings.maxSeconds = 30
        settings.maxBytes = 1 << 20
        return settings
    }()

    static func parse(_ query: [(String, String)], interfaces: [String] = ["eth0", "eth1"]) -> Result<OnDemandCaptureRequest, QueryError> {
        CaptureQuery.parse(query.map { (key: $0.0, value: $0.1) }, settings: settings, interfaces: interfaces)
    }

    @Test func defaultsTakeEveryInterfaceForTenSeconds() throws {
        let request = try Self.parse([]).get()
        #expect(request == OnDemandCaptureRequest(interfaces: ["eth0", "eth1"], filter: "", snapLength: 256, maxBytes: 1 << 20,
                                                  duration: .seconds(10)))
        let asked = try Self.parse([("filter", "host 10.0.0.1 and port 53"), ("seconds", "30"), ("snaplen", "65535"),
                                    ("max_bytes", "4096"), ("interface", "eth1")]).get()
        #expect(asked == OnDemandCaptureRequest(interfaces: ["eth1"], filter: "host 10.0.0.1 and port 53", snapLength: 65535,
                                                maxBytes: 4096, duration: .seconds(30)))
    }

    /// Every bound refuses the first value past it, naming the bound.
    @Test(arguments: [
        ("seconds", "0", "expected 1 to 30 (-web.capture-max-seconds)"),
        ("seconds", "31", "expected 1 to 30 (-web.capture-max-seconds)"),
        ("seconds", "1.5", "expected 1 to 30"),
        ("snaplen", "0", "expected 1 to 65535"),
        ("snaplen", "65536", "expected 1 to 65535"),
        ("max_bytes", "4095", "expected 4096 to 1048576 (-web.capture-max-bytes)"),
        ("max_bytes", "1048577", "expected 4096 to 1048576"),
        ("interface", "lo", "not one this agent captures on (eth0, eth1)"),
        ("filter", String(repeating: "x", count: 4097), "at most 4096 are taken"),
        ("count", "1", "unknown parameter \"count\""),
    ])
    func boundsAreRefused(key: String, value: String, message: String) {
        guard case .failure(let error) = Self.parse([(key, value)]) else {
            Issue.record("\(key)=\(value) was taken")
            return
        }
        #expect(error.message.contains(message), "\(error.message)")
    }

    /// A filter as browsers and curl send it: spaces as "+", a plus as "%2B".
    @Test func queryIsFormDecoded() {
        let parameters = CaptureQuery.formParameters("filter=host+10.0.0.1+and+%28port+53%29&seconds=5&x=1%2B1&flag")
        #expect(parameters.map(\.key) == ["filter", "seconds", "x", "flag"])
        #expect(parameters.map(\.value) == ["host 10.0.0.1 and (port 53)", "5", "1+1", ""])
    }

    @Test func fileNameHasHostAndUTCTime() {
        let time = Date(timeIntervalSince1970: 1_796_540_400)  // 2026-12-06 07:00:00 UTC
        #expect(CaptureQuery.fileName(host: "app1.example", time: time) == "app1.example-20261206T070000Z.pcapng")
        #expect(CaptureQuery.fileName(host: "a b/\"c", time: time) == "a_b__c-20261206T070000Z.pcapng")
    }

    static func sources(authenticates: Bool, interfaces: [String]) -> CaptureOnDemandSources {
        CaptureOnDemandSources(
            settings: settings, interfaces: { interfaces },
            section: { PcapngWriter.Section(hostname: "app1", hostgroup: "web", application: "planet-exporter 1.2.3") },
            annotator: { { _ in Array("pe-test → peer".utf8) } }, authenticates: { authenticates }, log: { _ in })
    }

    static func get(_ router: Router<BasicRequestContext>, _ uri: String,
                    _ check: @escaping @Sendable (HTTPResponse.Status, HTTPFields, ByteBuffer) -> Void) async throws {
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in check(response.status, response.headers, response.body) }
        }
    }

    static let registry = MetricsRegistry(collectors: [], version: "1.2.3", revision: "abc")

    @Test func summarySaysWhetherCapturesAreServed() async throws {
        try await Self.get(WebServer.router(registry: Self.registry, ui: ApiFixture.sources), "/api/v1/summary") { _, _, body in
            #expect(String(buffer: body).contains(#""capture_on_demand":{"enabled":false,"max_seconds":null,"max_bytes":null}"#))
        }
        let counters = CaptureOnDemandCounters(maxConcurrent: 2)
        let router = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                      capture: (Self.sources(authenticates: true, interfaces: ["lo"]), counters))
        try await Self.get(router, "/api/v1/summary") { _, _, body in
            #expect(String(buffer: body).contains(#""capture_on_demand":{"enabled":true,"max_seconds":30,"max_bytes":1048576}"#))
        }
    }

    @Test func refusalsAreCounted() async throws {
        let counters = CaptureOnDemandCounters(maxConcurrent: 0)
        let open = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                    capture: (Self.sources(authenticates: false, interfaces: ["lo"]), counters))
        try await Self.get(open, "/api/v1/capture") { status, _, body in
            #expect(status == .forbidden && String(buffer: body).contains("basic auth or verified client certificates"))
        }
        let router = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                      capture: (Self.sources(authenticates: true, interfaces: ["lo"]), counters))
        try await Self.get(router, "/api/v1/capture?seconds=99") { status, _, _ in #expect(status == .badRequest) }
        try await Self.get(router, "/api/v1/capture?seconds=1") { status, _, body in
            #expect(status == .tooManyRequests && String(buffer: body).contains("0 captures are running"))
        }
        let none = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                    capture: (Self.sources(authenticates: true, interfaces: []), counters))
        try await Self.get(none, "/api/v1/capture") { status, _, _ in #expect(status == .serviceUnavailable) }
        var writer = ExpositionWriter()
        _ = CaptureOnDemandCollector(counters: counters).collect(into: &writer)
        let text = writer.text
        for (result, count) in [("unauthenticated", 1), ("invalid", 1), ("busy", 1), ("failed", 1), ("completed", 0)] {
            #expect(text.contains("planet_web_captures_total{result=\"\(result)\"} \(count)\n"), "\(text)")
        }
        #expect(text.contains("planet_web_capture_bytes_total 0\n"))
    }

    static let isRoot = getuid() == 0

    /// A filter libpcap refuses is a 400 with libpcap's words; the slot is given back.
    @Test(.enabled(if: isRoot, "needs root to open a capture handle on lo"))
    func badFilterIsABadRequestWithLibpcapsMessage() async throws {
        let counters = CaptureOnDemandCounters(maxConcurrent: 1)
        let router = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                      capture: (Self.sources(authenticates: true, interfaces: ["lo"]), counters))
        try await Self.get(router, "/api/v1/capture?filter=tcp%20port%20and%20nonsense(") { status, _, body in
            #expect(status == .badRequest)
            #expect(String(buffer: body).contains("syntax error"), "\(String(buffer: body))")
        }
        #expect(counters.running == 0)
    }

    /// A one-second capture on loopback with a datagram sent meanwhile: pcapng headers, the
    /// packet with its comment, and statistics at the end; counted as completed.
    @Test(.enabled(if: isRoot, "needs root to open a capture handle on lo"))
    func aCaptureOnLoopbackHoldsTheDatagram() async throws {
        let counters = CaptureOnDemandCounters(maxConcurrent: 1)
        let router = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                      capture: (Self.sources(authenticates: true, interfaces: ["lo"]), counters))
        let port = UInt16.random(in: 40000...50000)
        // Datagrams until the capture is surely running, to a port nobody listens on.
        let sender = Task.detached { await Self.sendDatagrams(port: port, count: 100, size: 6) }
        try await Self.get(router, "/api/v1/capture?seconds=1&filter=udp%20dst%20port%20\(port)") { status, headers, body in
            #expect(status == .ok)
            #expect(headers[.contentType] == "application/x-pcapng")
            #expect(headers[.contentDisposition]?.hasPrefix("attachment; filename=\"app1-") == true)
            let bytes = Array(buffer: body)
            #expect(Array(bytes.prefix(4)) == [0x0A, 0x0D, 0x0D, 0x0A])
            let (types, end) = PcapngWriterTestsSupport.blockTypes(bytes)
            #expect(end == bytes.count)
            #expect(types.first == 0x0A0D_0D0A && types.dropFirst().first == 1 && types.last == 5)
            #expect(types.contains(6))
            #expect(String(decoding: bytes, as: UTF8.self).contains("pe-test → peer"))
        }
        sender.cancel()
        #expect(counters.running == 0)
        var writer = ExpositionWriter()
        _ = CaptureOnDemandCollector(counters: counters).collect(into: &writer)
        #expect(writer.text.contains("planet_web_captures_total{result=\"completed\"} 1\n"))
    }
}

extension CaptureEndpointTests {
    /// Sends `count` UDP datagrams of `size` bytes to 127.0.0.1:`port`, 10 ms apart.
    static func sendDatagrams(port: UInt16, count: Int, size: Int) async {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let payload = [UInt8](repeating: 0x41, count: size)
        for _ in 0..<count {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(socket, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// max_bytes ends the capture before the file passes it, with the file whole (statistics
    /// at the end) and the capture counted as cut.
    @Test(.enabled(if: isRoot, "needs root to open a capture handle on lo"))
    func maxBytesEndsTheCaptureWithAWholeFile() async throws {
        let counters = CaptureOnDemandCounters(maxConcurrent: 1)
        let router = WebServer.router(registry: Self.registry, ui: ApiFixture.sources,
                                      capture: (Self.sources(authenticates: true, interfaces: ["lo"]), counters))
        let port = UInt16.random(in: 40000...50000)
        let sender = Task.detached { await Self.sendDatagrams(port: port, count: 100, size: 1000) }
        try await Self.get(router, "/api/v1/capture?seconds=10&max_bytes=4096&snaplen=65535&filter=udp%20dst%20port%20\(port)") { status, _, body in
            #expect(status == .ok)
            let bytes = Array(buffer: body)
            #expect(bytes.count <= 4096 && bytes.count > 1000)
            let (types, end) = PcapngWriterTestsSupport.blockTypes(bytes)
            #expect(end == bytes.count)
            #expect(types.last == 5 && types.contains(6))
            #expect(String(decoding: bytes, as: UTF8.self).contains("capture ended: max_bytes"))
        }
        sender.cancel()
        var writer = ExpositionWriter()
        _ = CaptureOnDemandCollector(counters: counters).collect(into: &writer)
        #expect(writer.text.contains("planet_web_captures_total{result=\"max_bytes\"} 1\n"))
    }
}

/// Little-endian reads of pcapng fields.
enum PcapngWriterTestsSupport {
    static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    /// The block types of a pcapng file in order, walking the block lengths, and where the
    /// walk stopped: the file's end when the blocks tile it.
    static func blockTypes(_ bytes: [UInt8]) -> (types: [UInt32], end: Int) {
        var types: [UInt32] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            let length = Int(uint32(bytes, offset + 4))
            guard length >= 12, offset + length <= bytes.count else { break }
            types.append(uint32(bytes, offset))
            offset += length
        }
        return (types, offset)
    }
}
