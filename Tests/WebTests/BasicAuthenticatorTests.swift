import Foundation
import HummingbirdBcrypt
import Testing
@testable import Web

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

    @Test func constantTimeComparison() {
        let equal = BasicAuthenticator.constantTimeEqual
        #expect(equal(Array("secret".utf8), Array("secret".utf8)))
        #expect(!equal(Array("secret".utf8), Array("secreT".utf8)))
        #expect(!equal(Array("secret".utf8), Array("secretsecret".utf8)))
        #expect(!equal(Array("secret".utf8), Array("sec".utf8)))
        #expect(!equal([], Array("a".utf8)))
        #expect(!equal(Array("a".utf8), []))
        #expect(equal([], []))
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
