import AsyncHTTPClient
import Foundation
import NIOCore

/// GETs a URL and returns its body: the one way the agent's tasks (inventory, darkstat,
/// ebpf_exporter) read from other services.
public struct HTTPFetcher: Sendable {
    /// Most bytes accepted from one response.
    public var maxBytes = 256 << 20
    /// Time allowed for the whole request.
    public var timeout: Duration

    public init(timeout: Duration = .seconds(10)) {
        self.timeout = timeout
    }

    /// The body of a 200 response; anything else throws a one-line error naming the URL.
    public func get(_ url: String) async throws(FetchError) -> [UInt8] {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme.lowercased()) else {
            throw FetchError("\(url): not an http:// or https:// URL")
        }
        let request = HTTPClientRequest(url: url)
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(min(timeout / .nanoseconds(1), 9e18))))
        } catch {
            throw FetchError("\(url): request failed: \(Self.describe(error))")
        }
        guard response.status == .ok else {
            throw FetchError("\(url): HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        do {
            let body = try await response.body.collect(upTo: maxBytes)
            return Array(body.readableBytesView)
        } catch {
            throw FetchError("\(url): reading the body failed: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

/// A fetch that failed, said in one line.
public struct FetchError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
