import Capture
import Diagnostics
import Foundation
import HTTPTypes
import Hummingbird
import Listener
import NIOCore

/// GET /api/v1/capture: a pcapng file of the packets that match a filter, streamed as they
/// arrive, from handles of its own (the counting handles are not touched). Bounded in time,
/// bytes and concurrency (429 past it); served only while the web config asks who the
/// client is (403 otherwise); a filter libpcap refuses is a 400 with its message. A client
/// that goes away ends the capture and closes its handles.
enum CaptureEndpoint {
    static func add(to router: Router<BasicRequestContext>, sources: CaptureOnDemandSources, counters: CaptureOnDemandCounters) {
        router.get("/api/v1/capture") { request, _ -> Response in
            guard sources.authenticates() else {
                counters.refuse(.unauthenticated)
                return ApiRoutes.json(.object([("error", "captures are served only while the web config requires basic auth or verified client certificates")]),
                                      status: .forbidden)
            }
            let parsed = CaptureQuery.parse(CaptureQuery.formParameters(request.uri.query ?? ""), settings: sources.settings,
                                            interfaces: sources.interfaces())
            guard case .success(let query) = parsed else {
                counters.refuse(.invalid)
                if case .failure(let error) = parsed { return ApiRoutes.badRequest(error) }
                return ApiRoutes.json(.object([]), status: .badRequest)
            }
            guard !query.interfaces.isEmpty else {
                counters.refuse(.failed)
                return ApiRoutes.json(.object([("error", "no interface is being captured now")]), status: .serviceUnavailable)
            }
            guard counters.begin() else {
                counters.refuse(.busy)
                return ApiRoutes.json(.object([("error", .string("\(counters.maxConcurrent) captures are running, the most at a time; try again when one ends"))]),
                                      status: .tooManyRequests)
            }
            let capture: OnDemandCapture
            do throws(OnDemandCaptureError) {
                capture = try OnDemandCapture(query)
            } catch {
                switch error {
                case .badFilter(let message):
                    counters.end(.invalid, bytes: 0)
                    return ApiRoutes.badRequest(QueryError(message: message))
                case .cannotOpen(let message):
                    counters.end(.failed, bytes: 0)
                    return ApiRoutes.json(.object([("error", .string(message))]), status: .serviceUnavailable)
                }
            }
            let who = requester(request)
            let started = Date()
            let section = sources.section()
            let (chunks, continuation) = AsyncStream.makeStream(of: [UInt8].self)
            continuation.onTermination = { _ in capture.stop() }
            capture.start(
                section: withComments(section, query: query, time: started), annotator: sources.annotator,
                deliver: { continuation.yield($0) },
                finished: { outcome in
                    let result: CaptureOnDemandCounters.Result = switch outcome.reason {
                    case "duration": .completed
                    case "max_bytes": .maxBytes
                    case "stopped": .disconnected
                    default: .failed
                    }
                    counters.end(result, bytes: outcome.bytes)
                    let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
                    sources.log("capture by \(who) on \(query.interfaces.joined(separator: ",")) filter \(quoted(query.filter)): \(result.rawValue) (\(outcome.reason)) after \(seconds)s, \(outcome.packets) packets, \(outcome.bytes) bytes, \(outcome.dropped) dropped")
                    // Last: a client that has read the whole file finds the capture counted.
                    continuation.finish()
                })
            let body = ResponseBody { writer in
                do {
                    for await chunk in chunks {
                        try await writer.write(ByteBuffer(bytes: chunk))
                    }
                    try await writer.finish(nil)
                } catch {
                    // The client went away: the capture ends and closes its handles.
                    capture.stop()
                    throw error
                }
            }
            let name = CaptureQuery.fileName(host: section.hostname, time: started)
            return Response(status: .ok, headers: [
                .contentType: "application/x-pcapng", .contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store",
            ], body: body)
        }
    }

    /// The summary document with `capture_on_demand` added: whether /api/v1/capture serves
    /// captures and its bounds, so the page shows its Capture buttons only then.
    static func summary(_ document: JSONValue, settings: CaptureOnDemandSettings?) -> JSONValue {
        guard case .object(var members) = document else { return document }
        members.append(("capture_on_demand", .object([
            ("enabled", .bool(settings != nil)),
            ("max_seconds", settings.map { .unsigned(UInt64($0.maxSeconds)) } ?? .null),
            ("max_bytes", settings.map { .unsigned(UInt64($0.maxBytes)) } ?? .null),
        ])))
        return .object(members)
    }

    /// Who asked, for the log: the basic-auth user, else the client's address.
    static func requester(_ request: Request) -> String {
        if let header = request.headers[.authorization],
           let (user, _) = BasicAuthenticator.credentials(fromAuthorization: header) {
            return "user \(quoted(user))"
        }
        return RequestSource.address.map { "\($0)" } ?? "an unknown client"
    }

    /// The section with the request written in its comments, so the file says what it holds.
    static func withComments(_ section: PcapngWriter.Section, query: OnDemandCaptureRequest, time: Date) -> PcapngWriter.Section {
        var section = section
        let seconds = query.duration.components.seconds
        section.comments.append("filter: \(query.filter.isEmpty ? "(none)" : query.filter)")
        section.comments.append("asked for: \(seconds)s, snaplen \(query.snapLength), at most \(query.maxBytes) bytes, from \(Int(time.timeIntervalSince1970)) (unix time)")
        return section
    }
}
