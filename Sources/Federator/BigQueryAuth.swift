import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import _CryptoExtras

/// How the BigQuery writer gets its OAuth access token (`-bq-auth`).
public enum BigQueryAuthMode: String, Sendable, CaseIterable {
    /// A service-account key file when one is named (`-bq-credentials-file` or
    /// GOOGLE_APPLICATION_CREDENTIALS), else the GCE metadata server.
    case auto
    /// A service-account key file: a JWT signed with its RS256 key, exchanged for a token.
    case serviceAccount = "service-account"
    /// The GCE metadata server's token for the instance's service account.
    case metadata
    /// No Authorization header, for an emulator.
    case none
}

/// A Google service-account key file, as the Cloud console or
/// `gcloud iam service-accounts keys create` writes it.
public struct ServiceAccountKey: Sendable {
    /// The account, e.g. planet@project.iam.gserviceaccount.com: the JWT's issuer.
    public var clientEmail: String
    /// Identifies the key to Google (the JWT header's kid).
    public var privateKeyID: String
    /// The project the account belongs to; the default for -bq-project-id.
    public var projectID: String
    /// Where the signed JWT is exchanged for an access token.
    public var tokenURI: String
    let signingKey: _RSA.Signing.PrivateKey

    private struct File: Decodable {
        var type: String?
        var project_id: String?
        var private_key_id: String?
        var private_key: String?
        var client_email: String?
        var token_uri: String?
    }

    /// Parses a key file's contents; `path` names it in errors.
    public init(json: Data, path: String) throws {
        func refuse(_ reason: String) -> FederatorError {
            FederatorError(description: "service-account key file \(path) \(reason)", retryable: false)
        }
        guard let file = try? JSONDecoder().decode(File.self, from: json) else {
            throw refuse("is not JSON: download a key of the service account as JSON")
        }
        guard file.type == "service_account" else {
            throw refuse("has type \"\(file.type ?? "none")\", not \"service_account\": user credentials (gcloud auth application-default login) are not supported, create a service-account key")
        }
        guard let email = file.client_email, !email.isEmpty, let pem = file.private_key, !pem.isEmpty else {
            throw refuse("lacks client_email or private_key")
        }
        do {
            signingKey = try _RSA.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw refuse("has a private_key that is not an RSA key of 2048 bits or more in PEM")
        }
        clientEmail = email
        privateKeyID = file.private_key_id ?? ""
        projectID = file.project_id ?? ""
        tokenURI = file.token_uri.flatMap { $0.isEmpty ? nil : $0 } ?? "https://oauth2.googleapis.com/token"
    }

    /// Reads and parses the key file at `path`.
    public static func load(path: String) throws -> ServiceAccountKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FederatorError(
                description: "cannot read the service-account key file \(path): check the path and that this user may read it",
                retryable: false)
        }
        return try ServiceAccountKey(json: data, path: path)
    }
}

/// The JWT a service account signs to ask for an access token (RFC 7523, as Google's
/// OAuth 2.0 server-to-server flow describes it).
public enum ServiceAccountJWT {
    /// Read and write access to BigQuery.
    public static let bigQueryScope = "https://www.googleapis.com/auth/bigquery"
    /// Google accepts assertions valid for at most an hour.
    public static let lifetimeSeconds = 3600

    private struct Header: Encodable {
        var alg = "RS256"
        var typ = "JWT"
        var kid: String
    }

    private struct Claims: Encodable {
        var iss: String
        var scope: String
        var aud: String
        var iat: Int
        var exp: Int
    }

    /// header.claims.signature, each part base64url without padding; signed with RS256
    /// (RSASSA-PKCS1-v1_5 over SHA-256) by the key file's private key.
    public static func assertion(for key: ServiceAccountKey, scope: String = bigQueryScope, issuedAt: Int) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try encoder.encode(Header(kid: key.privateKeyID))
        let claims = try encoder.encode(Claims(
            iss: key.clientEmail, scope: scope, aud: key.tokenURI, iat: issuedAt, exp: issuedAt + lifetimeSeconds))
        let signingInput = base64URL(header) + "." + base64URL(claims)
        let signature = try key.signingKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }

    /// Base64url without padding (RFC 7515 section 2).
    static func base64URL(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}

/// Where access tokens come from, decided once at start.
public enum BigQueryCredentials: Sendable {
    /// Sign JWTs with this key.
    case serviceAccount(ServiceAccountKey)
    /// Ask the metadata server at `host`; `fallback` when -bq-auth auto chose it because
    /// no key file was named, which changes what an unreachable server means.
    case metadataServer(host: String, fallback: Bool)
    /// Send no Authorization header.
    case none

    /// What `mode` means with the given key file flag and environment
    /// (GOOGLE_APPLICATION_CREDENTIALS, GCE_METADATA_HOST as Google's libraries read them).
    public static func resolve(mode: BigQueryAuthMode, credentialsFile: String, environment: [String: String]) throws -> BigQueryCredentials {
        let file = credentialsFile.isEmpty ? environment["GOOGLE_APPLICATION_CREDENTIALS"] ?? "" : credentialsFile
        let host = environment["GCE_METADATA_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "metadata.google.internal"
        switch mode {
        case .none:
            return .none
        case .metadata:
            return .metadataServer(host: host, fallback: false)
        case .serviceAccount:
            guard !file.isEmpty else {
                throw FederatorError(
                    description: "-bq-auth service-account needs a key file: set GOOGLE_APPLICATION_CREDENTIALS or -bq-credentials-file",
                    retryable: false)
            }
            return .serviceAccount(try ServiceAccountKey.load(path: file))
        case .auto:
            return file.isEmpty ? .metadataServer(host: host, fallback: true) : .serviceAccount(try ServiceAccountKey.load(path: file))
        }
    }

    /// For the log: which credentials are in use, without secrets.
    public var summary: String {
        switch self {
        case .serviceAccount(let key): return "service account \(key.clientEmail)"
        case .metadataServer(let host, _): return "metadata server \(host)"
        case .none: return "none"
        }
    }
}

/// An OAuth 2.0 token endpoint's answer.
public enum OAuthTokenResponse {
    private struct Body: Decodable {
        var access_token: String?
        var expires_in: Int?
        var error: String?
        var error_description: String?
    }

    /// The longest token lifetime taken, in seconds.
    static let maxLifetime = 86_400

    /// The token and its lifetime in seconds from a 2xx answer; otherwise throws one line
    /// with the endpoint's error, `source` naming whose token was asked for and `hint`
    /// what to check.
    public static func parse(status: Int, body: Data, source: String, hint: String) throws -> (token: String, expiresIn: Int) {
        let decoded = try? JSONDecoder().decode(Body.self, from: body)
        if (200..<300).contains(status), let token = decoded?.access_token, !token.isEmpty {
            let expiresIn = decoded?.expires_in ?? 3600
            // Google's tokens last an hour; anything outside a day is not a lifetime.
            guard (0...maxLifetime).contains(expiresIn) else {
                throw FederatorError(description: "\(source) answered expires_in \(expiresIn), not a token lifetime in seconds (0 to \(maxLifetime)); \(hint)")
            }
            return (token, expiresIn)
        }
        var reason = [decoded?.error, decoded?.error_description].compactMap { $0 }.joined(separator: ": ")
        if reason.isEmpty { reason = HTTPExchange.excerpt(String(decoding: body.prefix(300), as: UTF8.self)) }
        if (200..<300).contains(status) { reason = "no access_token in the answer" + (reason.isEmpty ? "" : ": " + reason) }
        throw FederatorError(
            description: "\(source) refused the token request (\(status)): \(reason.isEmpty ? "no detail" : reason); \(hint)",
            retryable: status >= 500 || status == 429)
    }
}

/// Hands out access tokens, fetching a new one when the cached one has less than a
/// minute left.
public actor AccessTokenProvider {
    private let credentials: BigQueryCredentials
    private let client: HTTPClient
    private let logger: Logger
    private var cached: (header: String, refreshAfter: ContinuousClock.Instant)?

    /// A provider for `credentials`, fetching through `client` (owned by the caller).
    public init(credentials: BigQueryCredentials, client: HTTPClient, logger: Logger) {
        self.credentials = credentials
        self.client = client
        self.logger = logger
    }

    /// The Authorization header value ("Bearer ..."), or nil without authentication.
    public func authorization(deadline: ContinuousClock.Instant) async throws -> String? {
        if case .none = credentials { return nil }
        if let cached, ContinuousClock.now < cached.refreshAfter { return cached.header }
        let (token, expiresIn) = try await HTTPExchange.retrying("access token", deadline: deadline, logger: logger) { attemptDeadline in
            try await self.fetch(deadline: attemptDeadline)
        }
        let header = "Bearer " + token
        cached = (header, ContinuousClock.now + .seconds(max(0, expiresIn - 60)))
        logger.debug("got an access token", metadata: ["credentials": "\(credentials.summary)", "expires_in": "\(expiresIn)"])
        return header
    }

    /// Forgets the cached token, after BigQuery refused it.
    public func invalidate() {
        cached = nil
    }

    private func fetch(deadline: ContinuousClock.Instant) async throws -> (String, Int) {
        switch credentials {
        case .none:
            return ("", 0)
        case .serviceAccount(let key):
            let assertion = try ServiceAccountJWT.assertion(for: key, issuedAt: Int(Date().timeIntervalSince1970))
            var request = HTTPClientRequest(url: key.tokenURI)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string:
                "grant_type=" + percentEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=" + percentEncode(assertion)))
            let response = try await HTTPExchange.execute(client, request, server: "the token endpoint", deadline: deadline)
            let body = try await response.body.collect(upTo: 1 << 20)
            return try OAuthTokenResponse.parse(
                status: Int(response.status.code), body: Data(body.readableBytesView),
                source: "token endpoint \(HTTPExchange.origin(key.tokenURI)) for \(key.clientEmail)",
                hint: "check that key \(key.privateKeyID) is still active and that this host's clock is right")
        case .metadataServer(let host, let fallback):
            var request = HTTPClientRequest(url: "http://\(host)/computeMetadata/v1/instance/service-accounts/default/token?scopes="
                + percentEncode(ServiceAccountJWT.bigQueryScope))
            request.headers.add(name: "Metadata-Flavor", value: "Google")
            let response: HTTPClientResponse
            do {
                // Off GCE the fallback must fail fast: the client keeps retrying a refused
                // connection until the request's timeout.
                response = try await HTTPExchange.execute(
                    client, request, server: "the GCE metadata server",
                    deadline: fallback ? min(deadline, ContinuousClock.now + .seconds(3)) : deadline)
            } catch let error as FederatorError where fallback {
                throw FederatorError(
                    description: "no BigQuery credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and no GCE metadata server answers at \(host) (\(error)); name a service-account key file with it or -bq-credentials-file, or pass -bq-auth none for an emulator",
                    retryable: false)
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            return try OAuthTokenResponse.parse(
                status: Int(response.status.code), body: Data(body.readableBytesView),
                source: "the GCE metadata server at \(host)",
                hint: "give the instance a service account with the BigQuery scope")
        }
    }
}
