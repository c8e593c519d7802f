import Crypto
import Foundation
import HummingbirdBcrypt
import NIOCore
import Synchronization

/// Checks HTTP basic-auth credentials against the web config's bcrypt hashes.
///
/// bcrypt is slow on purpose (tens of milliseconds at cost 10), so checks run one at a
/// time on a thread of their own, never on an event loop, at a lower priority than
/// capture (``BackgroundThread``): a flood of wrong passwords takes CPU the capture
/// threads leave, not theirs. Credentials once verified are
/// remembered (a keyed hash of user and password, never the password) for their user and
/// hash, so scrapes after the first cost a hash and no bcrypt, and are admitted before
/// any check waits. Each source address has a few failed checks in hand, one more coming
/// back every ``failureRefill``: a flood of wrong passwords from one address is refused
/// without a check once those are spent, and a scraper elsewhere still gets its check. A
/// user that does not exist costs a bcrypt check all the same (against a hash of the
/// highest configured cost), so the time taken does not tell which users exist.
public final class BasicAuthenticator: Sendable {
    /// The outcome of one check.
    enum Outcome: Equatable {
        case allowed
        case denied
        /// Too many checks are waiting already; the request is refused without one.
        case busy
        /// The source address has spent its failed checks; refused without one.
        case throttled
    }

    /// Checks waiting or running at most, for sources with no recent failure and as many
    /// for the others; past it, requests are refused (429) rather than queued behind a
    /// flood of wrong passwords.
    static let maxPending = 4
    /// bcrypt reads at most 72 bytes; Go's bcrypt refuses longer passwords, and so does this.
    static let maxPasswordBytes = 72
    /// Verified credentials remembered at most (least recently used forgotten first).
    static let maxRemembered = 64
    /// Failed checks a source address has in hand (enough for a person mistyping), and
    /// how often one comes back: a flooding address gets one check a second.
    static let failureBurst = 20
    static let failureRefill: Duration = .seconds(1)
    /// How long after its last failed check a source is no longer checked before others.
    static let quietPeriod: Duration = .seconds(60)
    /// Source addresses tracked at most; past it, the one with the most checks left goes.
    static let maxSources = 4096

    /// Per process: what is remembered means nothing outside it.
    private let key = SymmetricKey(size: .bits256)
    private let remembered = Mutex(RememberedCredentials())
    private let sources = Mutex(FailureBudgets())
    private let dummyHashes = Mutex<[Int: String]>([:])
    /// Checks waiting or running, for sources with no recent failure and for the others.
    private let pending = Mutex<(clean: Int, failing: Int)>((0, 0))
    let queue = BackgroundThread(name: "pe-bcrypt")

    /// Checks waiting or running now, by kind of source.
    var pendingChecks: (clean: Int, failing: Int) { pending.withLock { $0 } }

    /// Source addresses dropped from the table at its bound, since start.
    var evictedSources: Int { sources.withLock { $0.evicted } }

    /// The user and password of an `Authorization: Basic ...` header value; nil when it
    /// is not one (scheme compared without case, as Go's net/http does).
    public static func credentials(fromAuthorization value: String) -> (user: String, password: String)? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 6, String(decoding: bytes[0..<6], as: UTF8.self).lowercased() == "basic " else { return nil }
        guard let decoded = Data(base64Encoded: String(decoding: bytes[6...], as: UTF8.self)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = String(decoding: decoded[decoded.startIndex..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        return (user, password)
    }

    /// Whether `user` with `password`, sent from `source`, may in, given the configured `users`.
    func authenticate(user: String, password: String, users: [String: String], source: SourceKey? = nil,
                      now: ContinuousClock.Instant = .now) async -> Outcome {
        let supplied = Array(password.utf8)
        let stored = users[user]
        let digest = credentialDigest(user: user, password: supplied)
        if let stored, remembered.withLock({ $0.contains(digest, hash: stored) }) {
            return .allowed
        }
        // A source with no failed check in the last `quietPeriod` (a scraper after a
        // restart or a password change) has slots of its own and is checked before the
        // others, so a flood of wrong passwords delays it by the check in progress and by
        // the first check of each flooding address that has not failed yet.
        let (taken, clean) = source.map { source in sources.withLock { $0.take(source, now: now) } } ?? (true, true)
        guard taken else { return .throttled }
        let admitted = pending.withLock { pending in
            let count = clean ? pending.clean : pending.failing
            guard count < Self.maxPending else { return false }
            if clean { pending.clean += 1 } else { pending.failing += 1 }
            return true
        }
        guard admitted else {
            if let source { sources.withLock { $0.giveBack(source) } }
            return .busy
        }
        defer { pending.withLock { if clean { $0.clean -= 1 } else { $0.failing -= 1 } } }
        let maxCost = users.values.map(BcryptHash.cost).max() ?? 10
        // Passwords bcrypt cannot take whole are checked against a stand-in, so they cost
        // the same time and never match.
        let usable = supplied.count <= Self.maxPasswordBytes && !supplied.contains(0)
        let matched: Bool = await withCheckedContinuation { continuation in
            queue.async(urgent: clean) {
                let hash = (usable ? stored : nil) ?? self.dummyHash(cost: maxCost)
                let matches = Bcrypt.verify(usable ? password : "", hash: BcryptHash.normalized(hash))
                continuation.resume(returning: matches && usable && stored != nil)
            }
        }
        guard matched, let stored else {
            if let source { sources.withLock { $0.failed(source, now: now) } }
            return .denied
        }
        remembered.withLock { $0.insert(digest, hash: stored) }
        if let source { sources.withLock { $0.giveBack(source) } }
        return .allowed
    }

    /// HMAC-SHA-256 of the user's length, the user and the password, under this process's key.
    private func credentialDigest(user: String, password: [UInt8]) -> [UInt8] {
        var message = withUnsafeBytes(of: UInt64(user.utf8.count).littleEndian) { Array($0) }
        message += user.utf8
        message += password
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// A hash of a random password at `cost`, made once per cost: what unknown users are
    /// checked against. Runs on the bcrypt thread.
    private func dummyHash(cost: Int) -> String {
        if let hash = dummyHashes.withLock({ $0[cost] }) { return hash }
        let random = (0..<32).map { _ in UInt8.random(in: 0x21...0x7E) }
        let hash = Bcrypt.hash(String(decoding: random, as: UTF8.self), cost: UInt8(cost))
        dummyHashes.withLock { $0[cost] = hash }
        return hash
    }
}

/// Who sent a request, for the failed-check budget: an IPv4 address, or the /64 of an
/// IPv6 address (what one subscriber or one host is usually given).
struct SourceKey: Hashable, Sendable {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    init?(_ address: SocketAddress?) {
        switch address {
        case .v4(let v4):
            bytes = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            let all = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            // An IPv4 client on a dual-stack socket is its IPv4 address.
            if all[0..<10].allSatisfy({ $0 == 0 }) && all[10] == 0xFF && all[11] == 0xFF {
                bytes = Array(all[12..<16])
            } else {
                bytes = Array(all[0..<8])
            }
        default:
            return nil
        }
    }
}

/// Verified credentials as keyed digests, each with the bcrypt hash it was verified
/// against (a changed hash forgets it), bounded, least recently used forgotten first.
struct RememberedCredentials {
    private var entries: [[UInt8]: (hash: String, used: UInt64)] = [:]
    private var clock: UInt64 = 0

    mutating func contains(_ digest: [UInt8], hash: String) -> Bool {
        guard let entry = entries[digest], entry.hash == hash else { return false }
        clock += 1
        entries[digest]!.used = clock
        return true
    }

    mutating func insert(_ digest: [UInt8], hash: String) {
        clock += 1
        entries[digest] = (hash, clock)
        if entries.count > BasicAuthenticator.maxRemembered, let oldest = entries.min(by: { $0.value.used < $1.value.used }) {
            entries[oldest.key] = nil
        }
    }
}

/// Failed checks each source address has in hand: a token bucket per address, a check
/// taking a token and a success giving it back; and when it last failed. Bounded; a full
/// bucket with no recent failure holds nothing worth keeping, so those go first.
struct FailureBudgets {
    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
        var lastFailure: ContinuousClock.Instant?
    }

    private var buckets: [SourceKey: Bucket] = [:]
    private(set) var evicted = 0

    /// Takes a token for a check from `source`: whether it had one, and whether it is
    /// clean (no failed check in the last ``BasicAuthenticator/quietPeriod``).
    mutating func take(_ source: SourceKey, now: ContinuousClock.Instant) -> (taken: Bool, clean: Bool) {
        let burst = Double(BasicAuthenticator.failureBurst)
        var bucket = buckets[source] ?? Bucket(tokens: burst, last: now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.last) / BasicAuthenticator.failureRefill)
        bucket.last = now
        guard bucket.tokens >= 1 else {
            buckets[source] = bucket
            return (false, false)
        }
        let clean = bucket.lastFailure.map { now - $0 >= BasicAuthenticator.quietPeriod } ?? true
        bucket.tokens -= 1
        if buckets[source] == nil { makeRoom(now: now) }
        buckets[source] = bucket
        return (true, clean)
    }

    /// Records a failed check from `source` (its token stays spent).
    mutating func failed(_ source: SourceKey, now: ContinuousClock.Instant) {
        buckets[source]?.lastFailure = now
    }

    /// Returns the token of a check that did not fail (it matched, or never ran).
    mutating func giveBack(_ source: SourceKey) {
        guard var bucket = buckets[source] else { return }
        bucket.tokens = min(Double(BasicAuthenticator.failureBurst), bucket.tokens + 1)
        buckets[source] = bucket
    }

    private mutating func makeRoom(now: ContinuousClock.Instant) {
        guard buckets.count >= BasicAuthenticator.maxSources else { return }
        let burst = Double(BasicAuthenticator.failureBurst)
        let refill = BasicAuthenticator.failureRefill
        buckets = buckets.filter {
            $0.value.tokens + (now - $0.value.last) / refill < burst
                || $0.value.lastFailure.map { now - $0 < BasicAuthenticator.quietPeriod } ?? false
        }
        guard buckets.count >= BasicAuthenticator.maxSources,
              let richest = buckets.max(by: { $0.value.tokens < $1.value.tokens }) else { return }
        buckets[richest.key] = nil
        evicted += 1
    }
}
