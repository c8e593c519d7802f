import Dispatch
import Foundation
import HummingbirdBcrypt
import Synchronization

/// Checks HTTP basic-auth credentials against the web config's bcrypt hashes.
///
/// bcrypt is slow on purpose (tens of milliseconds at cost 10), so checks run one at a
/// time on a queue of their own, never on an event loop; a password once verified is
/// remembered for its user and hash, so scrapes after the first cost a comparison. A user
/// that does not exist costs a bcrypt check all the same (against a hash of the highest
/// configured cost), so the time taken does not tell which users exist, and comparisons
/// of secrets take a time that depends only on the length of what the client sent.
final class BasicAuthenticator: Sendable {
    /// The outcome of one check.
    enum Outcome: Equatable {
        case allowed
        case denied
        /// Too many checks are waiting already; the request is refused without one.
        case busy
    }

    /// Checks waiting or running at most; past it, requests are refused (429) rather
    /// than queued behind a flood of wrong passwords.
    static let maxPending = 4
    /// bcrypt reads at most 72 bytes; Go's bcrypt refuses longer passwords, and so does this.
    static let maxPasswordBytes = 72

    private struct Verified {
        var hash: String
        var password: [UInt8]
    }

    private let verified = Mutex<[String: Verified]>([:])
    private let dummyHashes = Mutex<[Int: String]>([:])
    private let pending = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "planet-exporter.bcrypt")

    /// The user and password of an `Authorization: Basic ...` header value; nil when it
    /// is not one (scheme compared without case, as Go's net/http does).
    static func credentials(fromAuthorization value: String) -> (user: String, password: String)? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 6, String(decoding: bytes[0..<6], as: UTF8.self).lowercased() == "basic " else { return nil }
        guard let decoded = Data(base64Encoded: String(decoding: bytes[6...], as: UTF8.self)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = String(decoding: decoded[decoded.startIndex..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        return (user, password)
    }

    /// Whether `user` with `password` may in, given the configured `users`.
    func authenticate(user: String, password: String, users: [String: String]) async -> Outcome {
        let supplied = Array(password.utf8)
        let stored = users[user]
        if let stored, let known = verified.withLock({ $0[user] }), known.hash == stored,
           Self.constantTimeEqual(known.password, supplied) {
            return .allowed
        }
        guard pending.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxPending else {
            pending.wrappingSubtract(1, ordering: .relaxed)
            return .busy
        }
        defer { pending.wrappingSubtract(1, ordering: .relaxed) }
        let maxCost = users.values.map(BcryptHash.cost).max() ?? 10
        // Passwords bcrypt cannot take whole are checked against a stand-in, so they cost
        // the same time and never match.
        let usable = supplied.count <= Self.maxPasswordBytes && !supplied.contains(0)
        let matched: Bool = await withCheckedContinuation { continuation in
            queue.async {
                let hash = (usable ? stored : nil) ?? self.dummyHash(cost: maxCost)
                let matches = Bcrypt.verify(usable ? password : "", hash: BcryptHash.normalized(hash))
                continuation.resume(returning: matches && usable && stored != nil)
            }
        }
        guard matched, let stored else { return .denied }
        verified.withLock { verified in
            verified = verified.filter { users[$0.key] != nil }
            verified[user] = Verified(hash: stored, password: supplied)
        }
        return .allowed
    }

    /// A hash of a random password at `cost`, made once per cost: what unknown users are
    /// checked against. Runs on the bcrypt queue.
    private func dummyHash(cost: Int) -> String {
        if let hash = dummyHashes.withLock({ $0[cost] }) { return hash }
        let random = (0..<32).map { _ in UInt8.random(in: 0x21...0x7E) }
        let hash = Bcrypt.hash(String(decoding: random, as: UTF8.self), cost: UInt8(cost))
        dummyHashes.withLock { $0[cost] = hash }
        return hash
    }

    /// Compares in a time that depends on the length of `supplied` only.
    static func constantTimeEqual(_ expected: [UInt8], _ supplied: [UInt8]) -> Bool {
        var difference = UInt(bitPattern: expected.count ^ supplied.count)
        for index in supplied.indices {
            let other = expected.isEmpty ? 0 : expected[index % expected.count]
            difference |= UInt(other ^ supplied[index])
        }
        return difference == 0
    }
}
