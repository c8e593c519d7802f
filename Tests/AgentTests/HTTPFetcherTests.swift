import Foundation
import Inventory
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Agent

/// Fetches are bounded as a whole: time (a dripping body included) and size.
@Suite struct HTTPFetcherTests {
    static let inventory = #"[{"ip_address":"10.0.0.1","hostgroup":"a"}]"#

    static func good(_ body: String) -> @Sendable (ScriptedHTTPServer.Connection) -> Void {
        { connection in
            _ = connection.write("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        }
    }

    /// Headers promising a large body, then one byte every 100 ms for up to five minutes.
    static let drip: @Sendable (ScriptedHTTPServer.Connection) -> Void = { connection in
        guard connection.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n") else { return }
        for _ in 0..<3000 {
            guard connection.write("[") else { return }
            usleep(100_000)
        }
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func eventually(within seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    @Test func readsAGoodBody() async throws {
        let server = try ScriptedHTTPServer(respond: Self.good("hello"))
        let body = try await HTTPFetcher(timeout: .seconds(5)).get(server.url)
        #expect(body == Array("hello".utf8))
    }

    /// The body would take five minutes; the fetch must end at its 1 s deadline. (The
    /// bound checked is a minute: the tests share two cores, and a deadline can only
    /// fire when a thread is free, but a fetch waiting for the body would take five.)
    @Test func aDrippingBodyEndsAtTheDeadlineAndItsConnectionCloses() async throws {
        let server = try ScriptedHTTPServer(respond: Self.drip)
        let outcome = Mutex<String?>(nil)
        let fetch = Task {
            do {
                _ = try await HTTPFetcher(timeout: .seconds(1)).get(server.url)
                outcome.withLock { $0 = "a dripping body was accepted" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        defer { fetch.cancel() }
        #expect(await Self.eventually(within: 60) { outcome.withLock { $0 } != nil }, "the fetch outlived its deadline")
        let message = outcome.withLock { $0 } ?? ""
        #expect(message.contains("no complete response within 1.0 seconds"), "\(message)")
        #expect(!message.contains("\n"))
        #expect(await Self.eventually(within: 30) { server.open == 0 }, "the dripping connection was left open")
    }

    @Test func errorsNameTheAddressWithItsPasswordRedacted() async throws {
        let server = try ScriptedHTTPServer(respond: { connection in
            _ = connection.write("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        })
        let url = server.url.replacingOccurrences(of: "http://", with: "http://reader:pa55word@")
        do {
            _ = try await HTTPFetcher(timeout: .seconds(5)).get(url)
            Issue.record("a 404 was accepted")
        } catch {
            #expect(error.description.contains("http://reader:xxxxx@"), "\(error.description)")
            #expect(!error.description.contains("pa55word"))
        }
        do {
            _ = try await HTTPFetcher(timeout: .seconds(5)).get("ftp://reader:pa55word@inventory.example/")
            Issue.record("an ftp URL was accepted")
        } catch {
            #expect(error.description == "ftp://reader:xxxxx@inventory.example/: not an http:// or https:// URL")
        }
    }

    /// As Go's HTTP client does: a user and password in the address are sent as basic
    /// auth (percent-decoded), and only there.
    @Test func aUserAndPasswordInTheAddressAreSentAsBasicAuth() async throws {
        let heads = Mutex<[String]>([])
        let server = try ScriptedHTTPServer(respond: { connection in
            heads.withLock { $0.append(connection.head) }
            _ = connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        })
        let url = server.url.replacingOccurrences(of: "http://", with: "http://reader:pa%3A55@")
        _ = try await HTTPFetcher(timeout: .seconds(5)).get(url)
        _ = try await HTTPFetcher(timeout: .seconds(5)).get(server.url)
        let got = heads.withLock { $0 }
        try #require(got.count == 2)
        // base64("reader:pa:55")
        #expect(got[0].lowercased().contains("authorization: basic cmvhzgvyonbhoju1\r\n"), "\(got[0])")
        #expect(!got[1].lowercased().contains("authorization:"), "\(got[1])")
    }

    @Test func aBodyOverTheLimitIsRefusedNamingTheFlag() async throws {
        let server = try ScriptedHTTPServer(respond: Self.good(String(repeating: "x", count: 5000)))
        do {
            _ = try await HTTPFetcher(timeout: .seconds(5), maxBytes: 4096).get(server.url)
            Issue.record("an oversized body was accepted")
        } catch {
            #expect(error.description.contains("-task-fetch-max-bytes"))
            #expect(error.description.contains("5000 bytes"))
        }
        // Without a length up front (chunked), the limit holds as the body arrives.
        server.setResponse { connection in
            guard connection.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n") else { return }
            for _ in 0..<10 { guard connection.write("400\r\n" + String(repeating: "y", count: 1024) + "\r\n") else { return } }
            _ = connection.write("0\r\n\r\n")
        }
        do {
            _ = try await HTTPFetcher(timeout: .seconds(5), maxBytes: 4096).get(server.url)
            Issue.record("an oversized chunked body was accepted")
        } catch {
            #expect(error.description.contains("-task-fetch-max-bytes"))
        }
        #expect(try await HTTPFetcher(timeout: .seconds(5), maxBytes: 10240).get(server.url).count == 10240)
    }

    @Test func aHungInventoryFetchDoesNotKeepReportingSuccess() async throws {
        let server = try ScriptedHTTPServer(respond: Self.good(Self.inventory))
        let task = InventoryTask(address: server.url, format: .arrayjson, interval: .seconds(60),
                                 fetcher: HTTPFetcher(timeout: .seconds(1)), logger: Logger(label: "test"))
        await task.refresh()
        #expect(task.health().lastSucceeded)
        server.setResponse(Self.drip)
        let refresh = Task { await task.refresh() }
        defer { refresh.cancel() }
        #expect(await Self.eventually(within: 10) { !task.health().lastSucceeded }, "success stayed 1 while the fetch hung")
        #expect(task.health().networks > 0, "the last good inventory was dropped")
    }

    @Test func aHungScrapeDoesNotKeepReportingSuccess() async throws {
        let good = try String(contentsOfFile: RepositoryFixtures.path("migration/darkstat-metrics.prom"), encoding: .utf8)
        let server = try ScriptedHTTPServer(respond: Self.good(good))
        let task = ScrapeTask.darkstat(address: server.url, interval: .seconds(1), logger: Logger(label: "test"))
        await task.refresh()
        #expect(task.reading().succeeded)
        server.setResponse(Self.drip)
        let refresh = Task { await task.refresh() }
        defer { refresh.cancel() }
        #expect(await Self.eventually(within: 10) { !task.reading().succeeded }, "success stayed 1 while the scrape hung")
        #expect(task.reading().records?.isEmpty == false, "the last good values were dropped")
    }
}
