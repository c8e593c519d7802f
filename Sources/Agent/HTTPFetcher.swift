import AsyncHTTPClient
import Diagnostics
import Foundation
import NIOCore

/// GETs a URL and returns its body: the one way the agent's tasks (inventory, darkstat,
/// ebpf_exporter) read from other services.
///
/// Bounded in time and size as a whole: the deadline covers the connection, the head and
/// every byte of the body (a server that sends its headers and then drips the body is cut
/// off at the deadline, its connection closed), and the body is read into one buffer of at
/// most `maxBytes`, refused as soon as it would grow past it.
public struct HTTPFetcher: Sendable {
    /// Default of -task-fetch-max-bytes: far above any real inventory or exporter page,
    /// far below the agent's memory budget.
    public static let defaultMaxBytes = 64 << 20

    /// Most bytes accepted from one response.
    public var maxBytes: Int
    /// Time allowed for the whole request, body included.
    public var timeout: Duration

    public init(timeout: Duration = .seconds(10), maxBytes: Int = HTTPFetcher.defaultMaxBytes) {
        self.timeout = timeout
        self.maxBytes = maxBytes
    }

    /// The body of a 200 response; anything else throws a one-line error naming the URL
    /// (its password redacted).
    public func get(_ url: String) async throws(FetchError) -> [UInt8] {
        let shown = redactedURL(url)
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme.lowercased()) else {
            throw FetchError("\(shown): not an http:// or https:// URL")
        }
        let timeout = self.timeout
        let result: Result<[UInt8], FetchError>? = await withTaskGroup(of: Result<[UInt8], FetchError>?.self) { group in
            group.addTask {
                do throws(FetchError) { return .success(try await self.fetch(url, shown: shown)) } catch { return .failure(error) }
            }
            group.addTask {
                // Cancelled when the fetch ends first; nil either way stands for "no answer in time".
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            // Cancelling the fetch closes its connection; the group then waits for it to end.
            group.cancelAll()
            return first
        }
        guard let result else {
            throw FetchError("\(shown): no complete response within \(timeout) (the server stalled or sent too slowly)")
        }
        return try result.get()
    }

    private func fetch(_ url: String, shown: String) async throws(FetchError) -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        // As Go's client does (the Go original's flags took such addresses): a user and
        // password in the address go as basic auth.
        if let parts = URLComponents(string: url), let user = parts.user {
            request.setBasicAuth(username: user, password: parts.password ?? "")
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .nanoseconds(Int64(min(timeout / .nanoseconds(1), 9e18))))
        } catch {
            throw FetchError("\(shown): request failed: \(Self.describe(error))")
        }
        guard response.status == .ok else {
            throw FetchError("\(shown): HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        var body: [UInt8] = []
        if let declared = response.headers.first(name: "content-length").flatMap({ Int($0) }) {
            guard declared <= maxBytes else { throw tooLarge(shown, declared: declared) }
            body.reserveCapacity(declared)
        }
        do {
            for try await chunk in response.body {
                guard chunk.readableBytes <= maxBytes - body.count else {
                    throw tooLarge(shown, declared: nil)
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch let error as FetchError {
            throw error
        } catch {
            throw FetchError("\(shown): reading the body failed: \(Self.describe(error))")
        }
        return body
    }

    private func tooLarge(_ shown: String, declared: Int?) -> FetchError {
        let size = declared.map { " of \($0) bytes" } ?? ""
        return FetchError("\(shown): the response\(size) is larger than the limit of \(maxBytes) bytes; raise -task-fetch-max-bytes if it is right")
    }

    /// True when a fetch started at `start` has run past its deadline (with a second of
    /// slack): a task reports it as failed even before it returns.
    public func isOverdue(since start: ContinuousClock.Instant?) -> Bool {
        guard let start else { return false }
        return ContinuousClock.now - start > timeout + .seconds(1)
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
