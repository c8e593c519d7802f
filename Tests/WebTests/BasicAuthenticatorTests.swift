import Foundation
import NIOCore
import HummingbirdBcrypt
import Synchronization
import Testing
@testable import Listener
@testable import Web

/// Names appended as checks complete, from any task.
private final class CompletionOrder: Sendable {
    private let names = Mutex<[String]>([])
    func append(_ name: String) { names.withLock { $0.append(name) } }
    var entries: [String] { names.withLock { $0 } }
}

@Suite struct BasicAuthenticatorTests {
    /// Cost 4 keeps the tests fast; the cost is the hash's, not the checker's.
    static let aliceHash = Bcrypt.hash("wonderland", cost: 4)

    static func header(_ credentials: String) -> String {
        "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    @Test func credentialsAreReadAsGoReadsThem() {
        #expect(BasicAuthenticator.credentials(fromAuthorization: Self.header("alice:pass:word"))! == ("alice", "pass:word"))
        #expect(BasicAuthenticator.credentials(fromAuthorization: "bAsIc " + Data("a:".utf8).base64EncodedString())! == ("a", ""))
        #expect(BasicAuthenticator.credentials(fromAuthorization: "Bearer abc") == nil)
        #expect(BasicAuthenticator.credentials(fromAuthorization: "Basic !!!") == nil)
        #expect(BasicAuthenticator.credentials(fromAuthorization: Self.header("no-colon")) == nil)
        #expect(BasicAuthenticator.credentials(fromAuthorization: "Basic") == nil)
    }

    @Test func rightWrongAndUnknown() async {
        let authenticator = BasicAuthenticator()
        let users = ["alice": Self.aliceHash]
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: users) == .allowed)
        // Again, from what was remembered.
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: users) == .allowed)
        #expect(await authenticator.authenticate(user: "alice", password: "wonderlan", users: users) == .denied)
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland!", users: users) == .denied)
        #expect(await authenticator.authenticate(user: "bob", password: "wonderland", users: users) == .denied)
        #expect(await authenticator.authenticate(user: "alice", password: "", users: users) == .denied)
    }

    /// bcrypt runs on a thread of its own whose nice value is raised, and the rest of the
    /// process keeps its own: only the checks yield to capture.
    @Test func checksRunOnALowerPriorityThread() async throws {
        let authenticator = BasicAuthenticator()
        #expect(await authenticator.authenticate(user: "alice", password: "nope", users: ["alice": Self.aliceHash]) == .denied)
        let threadNice = try #require(authenticator.queue.niceness)
        errno = 0
        let processNice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #expect(threadNice >= BackgroundThread.niceness)
        #expect(threadNice > processNice)
    }

    @Test func aChangedHashForgetsTheRememberedPassword() async {
        let authenticator = BasicAuthenticator()
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: ["alice": Self.aliceHash]) == .allowed)
        let changed = ["alice": Bcrypt.hash("looking-glass", cost: 4)]
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: changed) == .denied)
        #expect(await authenticator.authenticate(user: "alice", password: "looking-glass", users: changed) == .allowed)
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: [:]) == .denied)
    }

    @Test func phpAndApacheHashesAreRead() async {
        // htpasswd -B writes $2y$, the same algorithm as $2b$.
        let apacheStyle = "$2y$" + Self.aliceHash.dropFirst(4)
        let authenticator = BasicAuthenticator()
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: ["alice": apacheStyle]) == .allowed)
    }

    @Test func passwordsBcryptCannotTakeWholeNeverMatch() async {
        let long = String(repeating: "x", count: 72)
        let users = ["alice": Bcrypt.hash(long, cost: 4)]
        let authenticator = BasicAuthenticator()
        #expect(await authenticator.authenticate(user: "alice", password: long, users: users) == .allowed)
        // bcrypt reads 72 bytes: a longer password with the same start must not pass.
        #expect(await authenticator.authenticate(user: "alice", password: long + "y", users: users) == .denied)
        #expect(await authenticator.authenticate(user: "alice", password: "wonder\u{0}land", users: ["alice": Self.aliceHash]) == .denied)
    }

    @Test func aSourceThatKeepsFailingIsRefusedWithoutACheckAndOthersAreNot() async {
        let authenticator = BasicAuthenticator()
        let users = ["alice": Self.aliceHash]
        let flooder = SourceKey(bytes: [10, 0, 0, 1]), scraper = SourceKey(bytes: [10, 0, 0, 2])
        let start = ContinuousClock.now
        for _ in 0..<BasicAuthenticator.failureBurst {
            #expect(await authenticator.authenticate(user: "alice", password: "guess", users: users, source: flooder, now: start) == .denied)
        }
        #expect(await authenticator.authenticate(user: "alice", password: "guess", users: users, source: flooder, now: start) == .throttled)
        // Even the right password waits, until it has been verified from elsewhere.
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: users, source: flooder, now: start) == .throttled)
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: users, source: scraper, now: start) == .allowed)
        #expect(await authenticator.authenticate(user: "alice", password: "wonderland", users: users, source: flooder, now: start) == .allowed)
        // One check comes back per refill interval.
        let later = start + BasicAuthenticator.failureRefill
        #expect(await authenticator.authenticate(user: "alice", password: "guess", users: users, source: flooder, now: later) == .denied)
        #expect(await authenticator.authenticate(user: "alice", password: "guess", users: users, source: flooder, now: later) == .throttled)
        // A success gives its check back: a scraper that mostly succeeds is never throttled.
        let rotated = ["alice": Bcrypt.hash("looking-glass", cost: 4)]
        for _ in 0..<(2 * BasicAuthenticator.failureBurst) {
            let fresh = BasicAuthenticator()
            #expect(await fresh.authenticate(user: "alice", password: "looking-glass", users: rotated, source: scraper, now: start) == .allowed)
        }
    }

    /// Every slot of the failing sources is taken by a flood of wrong passwords: a source
    /// with no failure (a scraper whose password changed) still gets its check, and
    /// before the flood's.
    @Test func aSourceWithNoFailureIsCheckedDespiteAFlood() async throws {
        let authenticator = BasicAuthenticator()
        // Cost 12: each check takes long enough for the flood to hold every slot.
        let slow = ["alice": Bcrypt.hash("wonderland", cost: 12)]
        let flooders = (1...12).map { SourceKey(bytes: [10, 0, 1, UInt8($0)]) }
        for flooder in flooders {
            #expect(await authenticator.authenticate(user: "alice", password: "guess", users: ["alice": Self.aliceHash], source: flooder) == .denied)
        }
        let order = CompletionOrder()
        let flood = Task {
            await withTaskGroup(of: BasicAuthenticator.Outcome.self) { group in
                for flooder in flooders {
                    group.addTask {
                        let outcome = await authenticator.authenticate(user: "alice", password: "guess", users: slow, source: flooder)
                        if outcome == .denied { order.append("flood") }
                        return outcome
                    }
                }
                return await group.reduce(into: [BasicAuthenticator.Outcome]()) { $0.append($1) }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while authenticator.pendingChecks.failing < BasicAuthenticator.maxPending && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(authenticator.pendingChecks.failing == BasicAuthenticator.maxPending)
        let scraper = SourceKey(bytes: [10, 0, 2, 1])
        let outcome = await authenticator.authenticate(user: "alice", password: "wonderland", users: slow, source: scraper)
        order.append("scraper")
        #expect(outcome == .allowed)
        let floodOutcomes = await flood.value
        #expect(floodOutcomes.filter { $0 == .denied }.count == BasicAuthenticator.maxPending)
        #expect(floodOutcomes.filter { $0 == .busy }.count == flooders.count - BasicAuthenticator.maxPending)
        // One flood check may have been running when the scraper's came; no more went first.
        let before = order.entries.prefix { $0 != "scraper" }.count
        #expect(before <= 1)
    }

    @Test func ipv6SourcesShareTheirSlash64() throws {
        let one = try SocketAddress(ipAddress: "2001:db8:1:2::1", port: 1)
        let two = try SocketAddress(ipAddress: "2001:db8:1:2:ffff::9", port: 2)
        let other = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        #expect(SourceKey(one) == SourceKey(two))
        #expect(SourceKey(one) != SourceKey(other))
        #expect(SourceKey(try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 1)) == SourceKey(bytes: [10, 0, 0, 1]))
        #expect(SourceKey(try SocketAddress(ipAddress: "10.0.0.1", port: 1)) == SourceKey(bytes: [10, 0, 0, 1]))
    }

    @Test func theTablesAreBounded() {
        var remembered = RememberedCredentials()
        for index in 0...BasicAuthenticator.maxRemembered {
            remembered.insert([UInt8(index)], hash: "h")
            if index == 1 {
                let found = remembered.contains([0], hash: "h")
                #expect(found)
            }
        }
        // The least recently used (1, never looked up) went; 0 was used after it.
        let (lost, kept, otherHash) = (remembered.contains([1], hash: "h"), remembered.contains([0], hash: "h"),
                                       remembered.contains([0], hash: "another"))
        #expect(!lost && kept && !otherHash)

        var budgets = FailureBudgets()
        let now = ContinuousClock.now
        for index in 0..<BasicAuthenticator.maxSources {
            let taken = budgets.take(SourceKey(bytes: withUnsafeBytes(of: UInt32(index)) { Array($0) }), now: now).taken
            #expect(taken)
        }
        #expect(budgets.evicted == 0)
        let taken = budgets.take(SourceKey(bytes: [1, 2, 3, 4, 5]), now: now).taken
        #expect(taken)
        #expect(budgets.evicted == 1)
    }

    @Test func rateLimiterRefillsOneTokenPerInterval() {
        let limiter = RateLimiter()
        let limit = WebConfig.RateLimit(interval: .seconds(1), burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.allow(limit, now: start))
        #expect(limiter.allow(limit, now: start))
        #expect(!limiter.allow(limit, now: start + .milliseconds(500)))
        #expect(limiter.allow(limit, now: start + .milliseconds(1100)))
        #expect(!limiter.allow(limit, now: start + .milliseconds(1200)))
        #expect(limiter.allow(nil, now: start))
        // A new limit starts with a full bucket.
        #expect(limiter.allow(.init(interval: .seconds(1), burst: 3), now: start + .milliseconds(1200)))
    }
}
