import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import NIOCore
import NIOSSL
import Synchronization
import Testing
import TestSupport
@testable import Listener
@testable import Web

/// A folder of its own for one test's files, removed at the end.
final class TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "planet-web-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` through a rename, as config management tools do.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let target = path + "/" + name
        try text.write(toFile: target + ".new", atomically: false, encoding: .utf8)
        _ = rename(target + ".new", target)
        return target
    }

    func copyFixture(_ relative: String, as name: String) throws {
        try write(name, String(decoding: try RepositoryFixtures.bytes(relative), as: UTF8.self))
    }
}

@Suite struct WebListenerTests {
    static let logger = Logger(label: "test")
    static let aliceHash = Bcrypt.hash("wonderland", cost: 4)

    static func settings(_ file: String?, limits: ServerLimits = ServerLimits()) -> WebServerSettings {
        var settings = WebServerSettings()
        settings.configFile = file
        settings.limits = limits
        return settings
    }

    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/metrics") { _, _ in "metrics\n" }
        router.get("/-/healthy") { _, _ in "Healthy\n" }
        return router
    }

    static func authorization(_ user: String, _ password: String) -> HTTPFields {
        [.authorization: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    @Test func aBrokenFileIsRefusedAtStartNamingTheKey() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  alice: plain\n")
        #expect(throws: (any Error).self) { try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(path), logger: Self.logger) }
        do {
            _ = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(path), logger: Self.logger)
        } catch {
            #expect(error.description == "web config \(path): basic_auth_users.alice: not a bcrypt hash; make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'")
        }
        let missing = folder.path + "/nope.yml"
        do {
            _ = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(missing), logger: Self.logger)
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description == "web config \(missing): cannot open \(missing): No such file or directory")
        }
    }

    @Test func everyPathIsBehindBasicAuth() async throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", """
            basic_auth_users:
              alice: \(Self.aliceHash)
            http_server_config:
              headers:
                X-Frame-Options: deny
            """)
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(path), logger: Self.logger)
        let app = listener.makeApplication(router: Self.router(), services: [])
        try await app.test(.router) { client in
            for uri in ["/metrics", "/-/healthy", "/", "/no/such/page"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                    #expect(response.headers[.wwwAuthenticate] == "Basic")
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "deny")
                    #expect(String(buffer: response.body) == "Unauthorized\n")
                }
                try await client.execute(uri: uri, method: .get, headers: Self.authorization("alice", "wrong")) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                }
                try await client.execute(uri: uri, method: .get, headers: Self.authorization("mallory", "wonderland")) { response in
                    #expect(response.status == .unauthorized, "\(uri)")
                }
            }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.authorization("alice", "wonderland")) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "metrics\n")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "deny")
            }
            try await client.execute(uri: "/no/such/page", method: .get, headers: Self.authorization("alice", "wonderland")) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func rateLimitAnswers429() async throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "rate_limit:\n  interval: 1h\n  burst: 2\n")
        var settings = Self.settings(path)
        settings.parseDuration = { $0 == "1h" ? .seconds(3600) : nil }
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: settings, logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.router) { client in
            for expected in [HTTPResponse.Status.ok, .ok, .tooManyRequests] {
                try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == expected) }
            }
        }
    }

    @Test func changesApplyWithoutRestartAndABrokenChangeKeepsTheLastGoodConfig() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  alice: \(Self.aliceHash)\n")
        let reloader = try WebConfigReloader(path: path, checkEvery: .seconds(3600), parseDuration: { _ in nil }, logger: Self.logger)
        reloader.checkNow()
        #expect(reloader.current().config.users.keys.sorted() == ["alice"])

        let bobHash = Bcrypt.hash("builder", cost: 4)
        try folder.write("web.yml", "basic_auth_users:\n  bob: \(bobHash)\n")
        reloader.checkNow()
        #expect(reloader.current().config.users == ["bob": bobHash])
        #expect(reloader.counters == .init(succeeded: 1, failed: 0, lastSucceeded: true))

        try folder.write("web.yml", "basic_auth_users:\n  bob: [\n")
        reloader.checkNow()
        #expect(reloader.current().config.users == ["bob": bobHash], "the last good config stays")
        #expect(reloader.counters == .init(succeeded: 1, failed: 1, lastSucceeded: false))
        // Unchanged since: not read again, not logged again.
        _ = reloader.current()
        #expect(reloader.counters.failed == 1)

        try folder.write("web.yml", "basic_auth_users: {}\n")
        reloader.checkNow()
        #expect(reloader.current().config.users.isEmpty)
        #expect(reloader.counters == .init(succeeded: 2, failed: 1, lastSucceeded: true))
    }

    @Test func aReloadThatWouldSwitchAuthenticationOffIsRefused() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  alice: \(Self.aliceHash)\n")
        let reloader = try WebConfigReloader(path: path, checkEvery: .seconds(3600), parseDuration: { _ in nil }, logger: Self.logger)
        // What a reader sees of a file being rewritten in place: nothing yet, blanks, a key cut off.
        let halfWritten = ["", " \n\t\n", "basic_auth_users:\n", "basic_auth_users:\n# alice\n", "rate_limit:\n"]
        for (index, text) in halfWritten.enumerated() {
            try folder.write("web.yml", text)
            reloader.checkNow()
            #expect(reloader.current().config.users.keys.sorted() == ["alice"], "\(text.debugDescription)")
            #expect(reloader.counters == .init(succeeded: 0, failed: index + 1, lastSucceeded: false))
        }
        // Said on purpose, it applies.
        try folder.write("web.yml", "basic_auth_users: {}\n")
        reloader.checkNow()
        #expect(reloader.current().config.users.isEmpty)
        #expect(reloader.counters == .init(succeeded: 1, failed: halfWritten.count, lastSucceeded: true))
        // Without authentication already, an empty file is an ordinary change.
        try folder.write("web.yml", "")
        reloader.checkNow()
        #expect(reloader.current().config.declaresNoUsers == false)
        #expect(reloader.counters.lastSucceeded)
    }

    @Test func anEmptiedFileKeepsTheRunningServerBehindBasicAuth() async throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  alice: \(Self.aliceHash)\n")
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(path), logger: Self.logger)
        let reloader = try #require(listener.webConfig)
        try await listener.makeApplication(router: Self.router(), services: []).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            // Emptied in place, as `cat > web.yml` leaves it before writing.
            let handle = try #require(FileHandle(forUpdatingAtPath: path))
            try handle.truncate(atOffset: 0)
            try handle.close()
            let deadline = ContinuousClock.now + .seconds(30)
            while reloader.counters.failed == 0 && ContinuousClock.now < deadline {
                try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(reloader.counters.failed == 1)
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get, headers: Self.authorization("alice", "wonderland")) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func tlsFilesAreLoadedCheckedAndWatched() throws {
        let folder = try TemporaryFolder()
        try folder.copyFixture("tls/server.crt", as: "server.crt")
        try folder.copyFixture("tls/server.key", as: "server.key")
        let path = try folder.write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
        let reloader = try WebConfigReloader(path: path, checkEvery: .seconds(3600), parseDuration: { _ in nil }, logger: Self.logger)
        reloader.checkNow()
        let first = reloader.current()
        #expect(first.tls != nil)
        #expect(first.tls?.tlsConfiguration.minimumTLSVersion == .tlsv12)

        // A renewed certificate file alone (the config unchanged) is a change.
        try folder.copyFixture("tls/client.crt", as: "server.crt")
        try folder.copyFixture("tls/client.key", as: "server.key")
        reloader.checkNow()
        #expect(reloader.current().identity !== first.identity)

        // A key that is not the certificate's is refused, and the last good config kept.
        let kept = reloader.current().identity
        try folder.copyFixture("tls/other.key", as: "server.key")
        reloader.checkNow()
        #expect(reloader.current().identity === kept)
        #expect(reloader.counters.lastSucceeded == false)

        // Removing TLS would change the scheme: refused until a restart.
        try folder.copyFixture("tls/client.key", as: "server.key")
        try folder.write("web.yml", "")
        reloader.checkNow()
        #expect(reloader.current().tls != nil)
    }

    /// A look at the files never holds up the caller (an event loop): with the config file
    /// replaced by a FIFO, the reload blocks reading it, and every request meanwhile gets the
    /// config in force at once. A watchdog writes the FIFO after 30 s, so an inline reload
    /// would end, late, and fail the test rather than hang it.
    @Test func aReloadNeverHoldsUpTheCaller() throws {
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  alice: \(Self.aliceHash)\n")
        let reloader = try WebConfigReloader(path: path, checkEvery: .zero, parseDuration: { _ in nil }, logger: Self.logger)
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o600) == 0)
        let bobHash = Bcrypt.hash("builder", cost: 4)
        let text = "basic_auth_users:\n  bob: \(bobHash)\n"
        let watchdogFired = Mutex(false)
        let askedAll = DispatchSemaphore(value: 0)
        let written = DispatchSemaphore(value: 0)
        Thread {
            // The FIFO is written once the requests below have all been answered, or after
            // 30 s if one of them is stuck in the reload.
            if askedAll.wait(timeout: .now() + .seconds(30)) == .timedOut { watchdogFired.withLock { $0 = true } }
            let deadline = DispatchTime.now() + .seconds(10)
            // A FIFO opens for writing only while the reload holds it open for reading.
            while DispatchTime.now() < deadline {
                let fd = open(path, O_WRONLY | O_NONBLOCK)
                if fd >= 0 {
                    _ = text.withCString { write(fd, $0, strlen($0)) }
                    close(fd)
                    break
                }
                usleep(10_000)
            }
            // A plain file from now on, so no later look blocks.
            FileManager.default.createFile(atPath: path + ".new", contents: Data(text.utf8))
            rename(path + ".new", path)
            written.signal()
        }.start()
        for _ in 0..<100 {
            #expect(reloader.current().config.users.keys.sorted() == ["alice"])
        }
        #expect(!watchdogFired.withLock { $0 }, "a request waited for the reload")
        askedAll.signal()
        written.wait()
        let deadline = ContinuousClock.now + .seconds(10)
        while reloader.current().config.users["bob"] == nil && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(reloader.current().config.users == ["bob": bobHash])
    }

    @Test func aMismatchedKeyIsRefusedAtStart() throws {
        let folder = try TemporaryFolder()
        try folder.copyFixture("tls/server.crt", as: "server.crt")
        try folder.copyFixture("tls/other.key", as: "server.key")
        let path = try folder.write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
        do {
            _ = try WebConfigReloader(path: path, parseDuration: { _ in nil }, logger: Self.logger)
            Issue.record("a key of another certificate was accepted")
        } catch {
            #expect(error.description.hasPrefix("web config \(path): tls_server_config: the key does not belong to the certificate"))
        }
        try folder.write("server.key", "not a key")
        do {
            _ = try WebConfigReloader(path: path, parseDuration: { _ in nil }, logger: Self.logger)
        } catch {
            #expect(error.description == "web config \(path): tls_server_config.key_file: not an unencrypted PEM private key from \(folder.path)/server.key")
        }
    }

    @Test func clientCertificateNamesAsGoWritesThem() throws {
        let certificate = try NIOSSLCertificate(bytes: try RepositoryFixtures.bytes("tls/client.crt"), format: .pem)
        #expect(RequestPhaseHandler.subjectAlternativeNames(certificate).sorted()
                == ["10.1.2.3", "client.example", "ops@example.org", "spiffe://example/agent"])
    }

    // MARK: Live: the server cannot be held

    @Test func stalledConnectionsAreClosedAndScrapesStillServedAtTheCap() async throws {
        var limits = ServerLimits()
        limits.readHeaderTimeout = .seconds(1)
        limits.maxConnections = 4
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(nil, limits: limits), logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let port = try #require(client.port)
            // The scraper's kept-alive connection, answered once before the flood. Its
            // request goes out as it connects: the test client connects before the test
            // runs, and on a busy machine its idle connection can outlast the header
            // timeout before a first request is sent on it.
            let scraper = try RawConnection(port: port)
            let scrape = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            scraper.send(scrape)
            let first = await scraper.read(until: "metrics\n", within: .seconds(5))
            #expect(first.hasPrefix("HTTP/1.1 200"), "\(first.prefix(40))")
            // More stalled clients than the cap: the oldest make room for the newest, and
            // the scraper's connection, answered already, outlives them.
            let stalled = try (0..<6).map { _ in try RawConnection(port: port) }
            scraper.send(scrape)
            let second = await scraper.read(until: "metrics\n", within: .seconds(5))
            #expect(second.hasPrefix("HTTP/1.1 200"), "\(second.prefix(40))")
            #expect(listener.reading().openConnections <= 4)
            // Every stalled connection is closed by the server, by the cap or the timeout.
            for connection in stalled {
                #expect(await connection.waitForClose(within: .seconds(5)), "a stalled connection was held")
            }
            let reading = listener.reading()
            let closed = Dictionary(uniqueKeysWithValues: reading.closedConnections)
            #expect((closed["evicted"] ?? 0) + (closed["header_timeout"] ?? 0) >= 6)
            #expect(closed["header_timeout"] ?? 0 >= 1)
        }
    }

    @Test func aHalfSentHeadIsClosedAfterTheHeaderTimeout() async throws {
        var limits = ServerLimits()
        limits.readHeaderTimeout = .milliseconds(300)
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(nil, limits: limits), logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            let start = ContinuousClock.now
            connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\n")
            #expect(await connection.waitForClose(within: .seconds(5)))
            #expect(ContinuousClock.now - start >= .milliseconds(250))
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        var limits = ServerLimits()
        limits.idleTimeout = .milliseconds(300)
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(nil, limits: limits), logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let answered = ContinuousClock.now
            let answer = await connection.readAll(within: .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(40))")
            #expect(answer.hasSuffix("metrics\n"))
            // readAll returned because the server closed the kept-alive connection.
            #expect(ContinuousClock.now - answered < .seconds(5), "an idle keep-alive was held")
            #expect(ContinuousClock.now - answered >= .milliseconds(250))
        }
    }

    @Test func onlyAllowedHostsAreAnswered() async throws {
        var settings = Self.settings(nil)
        settings.allowedHosts = try AllowedHosts(parsing: "planet.example, 127.0.0.1:19100,[::1]")
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: settings, logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let port = try #require(client.port)
            // What a page whose own name was rebound to this address makes the browser send.
            for host in ["attacker.example", "attacker.example:\(port)", "127.0.0.1:8080", "planet.example.attacker.example", ""] {
                let connection = try RawConnection(port: port)
                connection.send("GET /metrics HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                let answer = await connection.read(until: "Misdirected Request\n", within: .seconds(5))
                #expect(answer.hasPrefix("HTTP/1.1 421"), "\(host): \(answer.prefix(40))")
            }
            for host in ["planet.example", "PLANET.example.:\(port)", "127.0.0.1:19100", "[::1]:\(port)"] {
                let connection = try RawConnection(port: port)
                connection.send("GET /metrics HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                let answer = await connection.read(until: "metrics\n", within: .seconds(5))
                #expect(answer.hasPrefix("HTTP/1.1 200"), "\(host): \(answer.prefix(40))")
            }
            let refused = Dictionary(uniqueKeysWithValues: listener.reading().refusedRequests)
            #expect(refused["host"] == 5)
        }
    }

    @Test func allowedHostsAreReadFromTheFlag() throws {
        #expect(try AllowedHosts(parsing: "").allowsAny)
        let hosts = try AllowedHosts(parsing: " a.example ,10.0.0.1:19100,::1,[fe80::1]:80,")
        #expect(hosts.entries == [.init(host: "a.example", port: nil), .init(host: "10.0.0.1", port: 19100),
                                  .init(host: "::1", port: nil), .init(host: "fe80::1", port: 80)])
        #expect(hosts.allows("A.Example:1"))
        #expect(!hosts.allows("10.0.0.1"))
        #expect(hosts.allows("[::1]:19100"))
        #expect(!hosts.allows(nil))
        #expect(AllowedHosts().allows(nil))
        for bad in ["a.example:0", "a.example:http", "[::1", "http://a.example", "a b", "[::1]x"] {
            #expect(throws: AllowedHostsError.self, "\(bad)") { try AllowedHosts(parsing: bad) }
        }
        #expect((try? AllowedHosts(parsing: "a:99999")) == nil)
        do {
            _ = try AllowedHosts(parsing: "a.example:http")
        } catch {
            #expect(error.description == "-web.allowed-hosts: \"a.example:http\" is not a host name or address with an optional port (e.g. planet.example:19100, 10.0.0.1, [::1]:19100)")
        }
    }

    @Test func aWrongPasswordFloodLeavesTheScraperItsCheck() async throws {
        // A cost that makes a check take milliseconds, so the flood keeps the checks busy.
        let hash = Bcrypt.hash("scrape-secret", cost: 9)
        let folder = try TemporaryFolder()
        let path = try folder.write("web.yml", "basic_auth_users:\n  prometheus: \(hash)\n")
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(path), logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let port = try #require(client.port)
            @Sendable func request(_ password: String) -> String {
                let credentials = Data("prometheus:\(password)".utf8).base64EncodedString()
                return "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic \(credentials)\r\n\r\n"
            }
            final class FloodState: Sendable {
                let unauthorized = Atomic<Int>(0)
                let stop = Atomic<Bool>(false)
            }
            let state = FloodState()
            // Eight flooders from 127.0.0.1, each sending wrong passwords one after another.
            let flood = Task {
                await withTaskGroup(of: Void.self) { group in
                    for flooder in 0..<8 {
                        group.addTask {
                            let deadline = ContinuousClock.now + .seconds(120)
                            var sent = 0
                            while !state.stop.load(ordering: .relaxed) && ContinuousClock.now < deadline && sent < 5000 {
                                guard let connection = try? RawConnection(port: port) else { return }
                                connection.send(request("guess-\(flooder)-\(sent)"))
                                sent += 1
                                let answer = await connection.readAll(within: .seconds(5))
                                if answer.hasPrefix("HTTP/1.1 401") { state.unauthorized.add(1, ordering: .relaxed) }
                            }
                        }
                    }
                }
            }
            defer { state.stop.store(true, ordering: .relaxed) }
            // As many wrong passwords checked as one address has in hand: the flood is under way.
            let deadline = ContinuousClock.now + .seconds(30)
            let checked = BasicAuthenticator.failureBurst
            while state.unauthorized.load(ordering: .relaxed) < checked && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(state.unauthorized.load(ordering: .relaxed) >= checked)
            // The scraper, from another address, with the right password never seen before.
            for _ in 0..<3 {
                let scraper = try RawConnection(port: port, source: "127.0.0.2")
                scraper.send(request("scrape-secret"))
                let answer = await scraper.read(until: "metrics\n", within: .seconds(10))
                #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(40))")
            }
            // The flooding address runs out of checks while the flood goes on: how soon
            // depends on how long each check takes on this machine, so it is waited for.
            func throttled() -> Int {
                Dictionary(uniqueKeysWithValues: listener.reading().refusedRequests)["auth_throttled"] ?? 0
            }
            let throttleDeadline = ContinuousClock.now + .seconds(30)
            while throttled() == 0 && ContinuousClock.now < throttleDeadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            state.stop.store(true, ordering: .relaxed)
            await flood.value
            #expect(throttled() > 0)
        }
    }

    @Test func aSlowReaderIsClosedAtTheResponseDeadline() async throws {
        var limits = ServerLimits()
        limits.responseTimeout = .seconds(1)
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(nil, limits: limits), logger: Self.logger)
        let router = Self.router()
        // 32 MiB, far more than the socket buffers hold: sending it takes as long as the client reads.
        router.get("/big") { _, _ -> Response in
            Response(status: .ok, body: ResponseBody { writer in
                let part = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
                for _ in 0..<512 { try await writer.write(part) }
                try await writer.finish(nil)
            })
        }
        try await listener.makeApplication(router: router, services: []).test(.live) { client in
            let port = try #require(client.port)
            // Clients that read 4 KiB every 20 ms: steady progress, so no write ever stalls
            // for the idle timeout (30 s), but 32 MiB would take minutes.
            let readers = try (0..<4).map { _ in try RawConnection(port: port, receiveBuffer: 4096) }
            for reader in readers { reader.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n") }
            // Reading on in the background; what the kernel already holds of a closed
            // connection still drains slowly, so the server's own count tells when it closed.
            let reading = Task {
                await withTaskGroup(of: Void.self) { group in
                    for reader in readers {
                        group.addTask { _ = await reader.readSlowly(bytes: 4096, every: .milliseconds(20), within: .seconds(30)) }
                    }
                }
            }
            let started = ContinuousClock.now
            var closed: [String: Int] = [:]
            while closed["response_timeout", default: 0] < 4 && ContinuousClock.now - started < .seconds(15) {
                try await Task.sleep(for: .milliseconds(20))
                closed = Dictionary(uniqueKeysWithValues: listener.reading().closedConnections)
            }
            let held = ContinuousClock.now - started
            #expect(closed["response_timeout"] == 4, "\(closed)")
            #expect(closed["write_timeout"] == 0)
            #expect(held < .seconds(10), "responses were held \(held)")
            reading.cancel()
            for reader in readers { shutdown(reader.fd, Int32(SHUT_RDWR)) }
            await reading.value
            // The server still answers.
            let scraper = try RawConnection(port: port)
            scraper.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = await scraper.read(until: "metrics\n", within: .seconds(5))
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(40))")
        }
    }

    @Test func anOversizedHeadIsRefused() async throws {
        let listener = try WebListener(host: "127.0.0.1", port: 0, settings: Self.settings(nil), logger: Self.logger)
        try await listener.makeApplication(router: Self.router(), services: []).test(.live) { client in
            let connection = try RawConnection(port: try #require(client.port))
            connection.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 40 * 1024))\r\n\r\n")
            let answer = await connection.readAll(within: .seconds(5))
            #expect(!answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(40))")
            #expect(await connection.waitForClose(within: .seconds(5)))
        }
    }
}

/// A client socket driven by hand: connects, sends what a test says, and tells when the
/// server closed it.
final class RawConnection: Sendable {
    let fd: Int32

    /// Connects to 127.0.0.1:`port` from `source` (any loopback address, 127.0.0.1 by default).
    init(port: Int, source: String = "127.0.0.1", receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            // Before connecting, so the window the server sees is small from the start.
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes or `within` passes; what was read.
    func readAll(within: Duration) async -> String {
        var bytes: [UInt8] = []
        _ = await drain(within: within) { bytes += $0; return true }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads until what was read ends with `suffix` (one response on a kept-alive
    /// connection), the server closes, or `within` passes; what was read.
    func read(until suffix: String, within: Duration) async -> String {
        var bytes: [UInt8] = []
        _ = await drain(within: within) { chunk in
            bytes += chunk
            return !bytes.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads at most `bytes` every `every`, as a slow client does; true when the server
    /// closes the connection within `within`.
    func readSlowly(bytes: Int, every: Duration, within: Duration) async -> Bool {
        let deadline = ContinuousClock.now + within
        var buffer = [UInt8](repeating: 0, count: bytes)
        while ContinuousClock.now < deadline && !Task.isCancelled {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
            try? await Task.sleep(for: every)
        }
        return false
    }

    /// True when the server closes the connection within `within`.
    func waitForClose(within: Duration) async -> Bool {
        await drain(within: within) { _ in true }
    }

    /// Polls without blocking and sleeps between looks: a blocking wait would hold one of
    /// the few threads the server under test (and the tests running beside) run on.
    /// `received` says whether to read on. True when the server closed the connection.
    private func drain(within: Duration, _ received: ([UInt8]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + within
        var buffer = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else {
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return true }
            if !received(Array(buffer[..<count])) { return false }
        }
        return false
    }
}

struct HTTPDateHeaderTests {
    @Test func formatsRFC9110Dates() {
        #expect(HTTPDateHeader.format(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateHeader.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateHeader.format(1_798_761_599) == "Thu, 31 Dec 2026 23:59:59 GMT")
    }

    @Test func theHeaderIsTheCurrentSecond() {
        let header = HTTPDateHeader()
        let before = time(nil)
        let text = header.now()
        let after = time(nil)
        #expect(text == HTTPDateHeader.format(before) || text == HTTPDateHeader.format(after))
    }
}
