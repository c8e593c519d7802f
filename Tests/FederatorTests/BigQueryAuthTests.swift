import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
@testable import Federator

@Suite struct BigQueryAuthTests {
    static let logger = Logger(label: "test")

    /// A 2048-bit RSA key made by openssl, in PKCS#8 PEM as Google's key files hold it, and its public key.
    static func openSSLKey(in directory: URL) throws -> (privatePEM: String, publicKeyPath: String) {
        let keyPath = directory.appendingPathComponent("key.pem").path
        let publicPath = directory.appendingPathComponent("public.pem").path
        let made = try runCommand(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyPath])
        try #require(made.status == 0, "openssl genpkey: \(made.output)")
        let exported = try runCommand(["openssl", "pkey", "-in", keyPath, "-pubout", "-out", publicPath])
        try #require(exported.status == 0, "openssl pkey: \(exported.output)")
        return (try String(contentsOfFile: keyPath, encoding: .utf8), publicPath)
    }

    static func keyFile(_ pem: String, tokenURI: String, type: String = "service_account") throws -> Data {
        try JSONSerialization.data(withJSONObject: [
            "type": type, "project_id": "planet-project", "private_key_id": "kid-0123",
            "private_key": pem, "client_email": "planet@planet-project.iam.gserviceaccount.com",
            "client_id": "1234", "token_uri": tokenURI,
        ])
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bq-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }

    static func formValue(_ body: String, _ name: String) -> String? {
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return String(parts[1]).removingPercentEncoding }
        }
        return nil
    }

    @Test func serviceAccountJWTIsSignedWithTheKeyAndExchangedForAToken() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pem, publicKeyPath) = try Self.openSSLKey(in: directory)
        let requests = Recorder()
        let router = Router()
        router.post("/token") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            await requests.add(body)
            let count = await requests.count
            return jsonResponse(.ok, #"{"access_token":"token-\#(count)","expires_in":3599,"token_type":"Bearer"}"#)
        }
        try await withLocalServer(router) { port in
            let tokenURI = "http://127.0.0.1:\(port)/token"
            let keyPath = directory.appendingPathComponent("service-account.json").path
            try Self.keyFile(pem, tokenURI: tokenURI).write(to: URL(fileURLWithPath: keyPath))
            let credentials = try BigQueryCredentials.resolve(
                mode: .auto, credentialsFile: "", environment: ["GOOGLE_APPLICATION_CREDENTIALS": keyPath])
            guard case .serviceAccount(let key) = credentials else {
                Issue.record("auto with GOOGLE_APPLICATION_CREDENTIALS chose \(credentials.summary)")
                return
            }
            #expect(key.projectID == "planet-project")
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = AccessTokenProvider(credentials: credentials, client: client, logger: Self.logger)
            let before = Int(Date().timeIntervalSince1970)
            let first = try await provider.authorization(deadline: .now + .seconds(20))
            let second = try await provider.authorization(deadline: .now + .seconds(20))
            let after = Int(Date().timeIntervalSince1970)
            await provider.invalidate()
            let third = try await provider.authorization(deadline: .now + .seconds(20))
            try await client.shutdown()

            #expect(first == "Bearer token-1")
            #expect(second == "Bearer token-1", "a valid token is reused")
            #expect(third == "Bearer token-2", "an invalidated token is fetched again")
            let bodies = await requests.entries
            try #require(bodies.count == 2)
            #expect(Self.formValue(bodies[0], "grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer")
            let assertion = try #require(Self.formValue(bodies[0], "assertion"))
            let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
            try #require(parts.count == 3)

            let headerJSON = try #require(Self.base64URLDecode(parts[0]))
            let header = try #require(try JSONSerialization.jsonObject(with: headerJSON) as? [String: Any])
            #expect(header["alg"] as? String == "RS256")
            #expect(header["typ"] as? String == "JWT")
            #expect(header["kid"] as? String == "kid-0123")
            let claimsJSON = try #require(Self.base64URLDecode(parts[1]))
            let claims = try #require(try JSONSerialization.jsonObject(with: claimsJSON) as? [String: Any])
            #expect(claims["iss"] as? String == "planet@planet-project.iam.gserviceaccount.com")
            #expect(claims["scope"] as? String == "https://www.googleapis.com/auth/bigquery")
            #expect(claims["aud"] as? String == tokenURI)
            let iat = try #require(claims["iat"] as? Int)
            let exp = try #require(claims["exp"] as? Int)
            #expect(iat >= before && iat <= after)
            #expect(exp == iat + 3600)
            #expect(Set(claims.keys) == ["iss", "scope", "aud", "iat", "exp"])

            // The signature checked by openssl with the public key alone, then a tampered claim refused.
            let signature = try #require(Self.base64URLDecode(parts[2]))
            #expect(signature.count == 256)
            let signaturePath = directory.appendingPathComponent("signature.bin").path
            let inputPath = directory.appendingPathComponent("input.txt").path
            try signature.write(to: URL(fileURLWithPath: signaturePath))
            try Data("\(parts[0]).\(parts[1])".utf8).write(to: URL(fileURLWithPath: inputPath))
            let verified = try runCommand(["openssl", "dgst", "-sha256", "-verify", publicKeyPath, "-signature", signaturePath, inputPath])
            #expect(verified.status == 0 && verified.output.contains("Verified OK"), "\(verified.output)")
            try Data("\(parts[0]).\(parts[1])x".utf8).write(to: URL(fileURLWithPath: inputPath))
            let tampered = try runCommand(["openssl", "dgst", "-sha256", "-verify", publicKeyPath, "-signature", signaturePath, inputPath])
            #expect(tampered.status != 0)
        }
    }

    @Test func refusedKeyGivesOneLineNamingTheAccount() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (pem, _) = try Self.openSSLKey(in: directory)
        let router = Router()
        router.post("/token") { _, _ -> Response in
            jsonResponse(.badRequest, #"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#)
        }
        try await withLocalServer(router) { port in
            let key = try ServiceAccountKey(json: try Self.keyFile(pem, tokenURI: "http://127.0.0.1:\(port)/token"), path: "key.json")
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = AccessTokenProvider(credentials: .serviceAccount(key), client: client, logger: Self.logger)
            var refused: Failure?
            do {
                _ = try await provider.authorization(deadline: .now + .seconds(20))
            } catch let error as FederatorError {
                refused = Failure(error)
            }
            #expect(refused == Failure("token endpoint http://127.0.0.1:\(port) for planet@planet-project.iam.gserviceaccount.com refused the token request (400): invalid_grant: Invalid JWT Signature.; check that key kid-0123 is still active and that this host's clock is right"))
            try await client.shutdown()
        }
    }

    @Test func metadataServerTokenAskedWithItsHeader() async throws {
        let requests = Recorder()
        let router = Router()
        router.get("/computeMetadata/v1/instance/service-accounts/default/token") { request, _ -> Response in
            let flavor = request.headers.first(where: { $0.name.rawName.lowercased() == "metadata-flavor" })?.value ?? ""
            await requests.add("flavor=\(flavor) scopes=\(request.uri.queryParameters.get("scopes") ?? "")")
            guard flavor == "Google" else { return jsonResponse(.forbidden, "{}") }
            return jsonResponse(.ok, #"{"access_token":"from-metadata","expires_in":3599,"token_type":"Bearer"}"#)
        }
        try await withLocalServer(router) { port in
            let credentials = try BigQueryCredentials.resolve(
                mode: .metadata, credentialsFile: "", environment: ["GCE_METADATA_HOST": "127.0.0.1:\(port)"])
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let provider = AccessTokenProvider(credentials: credentials, client: client, logger: Self.logger)
            let header = try await provider.authorization(deadline: .now + .seconds(20))
            try await client.shutdown()
            #expect(header == "Bearer from-metadata")
            #expect(await requests.entries == ["flavor=Google scopes=https://www.googleapis.com/auth/bigquery"])
        }
    }

    @Test func noCredentialsAtAllIsOneClearLine() async throws {
        // auto without a key file falls back to the metadata server; here nothing listens there.
        let port = try #require(UInt16(exactly: Self.closedPort()))
        let credentials = try BigQueryCredentials.resolve(mode: .auto, credentialsFile: "", environment: ["GCE_METADATA_HOST": "127.0.0.1:\(port)"])
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let provider = AccessTokenProvider(credentials: credentials, client: client, logger: Self.logger)
        let started = ContinuousClock.now
        var message = ""
        do {
            _ = try await provider.authorization(deadline: .now + .seconds(600))
        } catch {
            message = "\(error)"
        }
        try await client.shutdown()
        #expect(message.hasPrefix("no BigQuery credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and no GCE metadata server answers at 127.0.0.1:\(port)"))
        #expect(message.hasSuffix("; name a service-account key file with it or -bq-credentials-file, or pass -bq-auth none for an emulator"))
        #expect(!message.contains("\n"))
        // The fallback gives up after 3 s; retrying until the job's deadline would take 600 s.
        #expect(ContinuousClock.now - started < .seconds(300), "not retried until the job timeout")
    }

    @Test func credentialsResolveFromModeFlagAndEnvironment() throws {
        guard case .none = try BigQueryCredentials.resolve(mode: .none, credentialsFile: "", environment: ["GOOGLE_APPLICATION_CREDENTIALS": "/x"]) else {
            Issue.record("none must not read a key"); return
        }
        guard case .metadataServer(let host, let fallback) = try BigQueryCredentials.resolve(mode: .auto, credentialsFile: "", environment: [:]) else {
            Issue.record("auto without a key file must use the metadata server"); return
        }
        #expect(host == "metadata.google.internal" && fallback)
        guard case .metadataServer(_, false) = try BigQueryCredentials.resolve(mode: .metadata, credentialsFile: "", environment: [:]) else {
            Issue.record("metadata"); return
        }
        #expect(failure {
            _ = try BigQueryCredentials.resolve(mode: .serviceAccount, credentialsFile: "", environment: [:])
        } == Failure("-bq-auth service-account needs a key file: set GOOGLE_APPLICATION_CREDENTIALS or -bq-credentials-file"))
        #expect(failure {
            // The flag wins over the environment.
            _ = try BigQueryCredentials.resolve(mode: .auto, credentialsFile: "/nonexistent/key.json", environment: ["GOOGLE_APPLICATION_CREDENTIALS": "/other"])
        } == Failure("cannot read the service-account key file /nonexistent/key.json: check the path and that this user may read it"))
    }

    @Test(arguments: [
        ("not json", "service-account key file k.json is not JSON: download a key of the service account as JSON"),
        (#"{"type":"authorized_user","client_id":"x"}"#, "service-account key file k.json has type \"authorized_user\", not \"service_account\": user credentials (gcloud auth application-default login) are not supported, create a service-account key"),
        (#"{"type":"service_account","client_email":"a@b"}"#, "service-account key file k.json lacks client_email or private_key"),
        (#"{"type":"service_account","client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#, "service-account key file k.json has a private_key that is not an RSA key of 2048 bits or more in PEM"),
    ])
    func badKeyFilesAreRefusedWithOneLine(text: String, message: String) {
        #expect(failure {
            _ = try ServiceAccountKey(json: Data(text.utf8), path: "k.json")
        } == Failure(message))
    }

    @Test func tokenAnswersParse() throws {
        let parsed = try OAuthTokenResponse.parse(status: 200, body: Data(#"{"access_token":"abc","expires_in":120}"#.utf8), source: "s", hint: "h")
        #expect(parsed.token == "abc" && parsed.expiresIn == 120)
        #expect(failure {
            _ = try OAuthTokenResponse.parse(status: 200, body: Data("{}".utf8), source: "s", hint: "h")
        } == Failure("s refused the token request (200): no access_token in the answer: {}; h"))
        #expect(failure {
            _ = try OAuthTokenResponse.parse(status: 503, body: Data("upstream down".utf8), source: "s", hint: "h")
        } == Failure("s refused the token request (503): upstream down; h", retryable: true))
    }

    /// A loopback port nothing listens on.
    static func closedPort() throws -> Int {
        let result = try runCommand(["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 9
    }
}
