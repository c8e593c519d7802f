import Testing
@testable import Listener
@testable import Web

@Suite struct WebConfigTests {
    static func parse(_ text: String) throws(WebConfigError) -> WebConfig {
        try WebConfig.parse(text, directory: "/etc/pe", parseDuration: { text in
            switch text {
            case "1s": return .seconds(1)
            case "0s": return .zero
            default: return nil
            }
        })
    }

    /// The error `text` is refused with, as one line.
    static func refusal(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func anEmptyFileServesPlainHTTPWithoutAuth() throws {
        #expect(try Self.parse("") == WebConfig())
        #expect(try Self.parse("# nothing\n") == WebConfig())
        #expect(try Self.parse("tls_server_config:\nbasic_auth_users:\n") == WebConfig())
    }

    @Test func exporterToolkitUsersFileParses() throws {
        // exporter-toolkit's web_config_users.good.yml, keys and hashes as written there.
        let config = try Self.parse("""
            tls_server_config:
              cert_file: "server.crt"
              key_file: "server.key"
            basic_auth_users:
              alice: $2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby
              bob: $2y$18$4VeFDzXIoPHKnKTU3O3GH.N.vZu06CVqczYZ8WvfzrddFU6tGqjR.
            """)
        #expect(config.tls?.certificate == .file("/etc/pe/server.crt"))
        #expect(config.tls?.key == .file("/etc/pe/server.key"))
        #expect(config.tls?.clientAuth == .noClientCert)
        #expect(config.tls?.minVersion == .tls12)
        #expect(config.tls?.maxVersion == .tls13)
        #expect(config.users["alice"] == "$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby")
        #expect(config.users.count == 2)
    }

    @Test func everyTLSKeyIsRead() throws {
        let config = try Self.parse("""
            tls_server_config:
              cert_file: /abs/server.crt
              key_file: server.key
              client_ca_file: ca.pem
              client_auth_type: RequireAndVerifyClientCert
              client_allowed_sans: [client.example, 10.0.0.1]
              min_version: TLS13
              max_version: TLS13
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
              curve_preferences: [X25519, CurveP256]
              prefer_server_cipher_suites: false
            http_server_config:
              http2: false
            """)
        let tls = try #require(config.tls)
        #expect(tls.certificate == .file("/abs/server.crt"))
        #expect(tls.clientCA == .file("/etc/pe/ca.pem"))
        #expect(tls.files == ["/abs/server.crt", "/etc/pe/server.key", "/etc/pe/ca.pem"])
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.clientAllowedSANs == ["client.example", "10.0.0.1"])
        #expect(tls.minVersion == .tls13)
        // TLS 1.3 suites cannot be configured: left out, the others kept in order.
        #expect(tls.cipherSuites == [0xC030, 0xCCA9])
        #expect(tls.curves == [0x1D, 0x17])
        #expect(config.http2 == false)
    }

    @Test func inlinePEMAndTheOldClientAuthName() throws {
        let config = try Self.parse("""
            tls_server_config:
              cert: |
                -----BEGIN CERTIFICATE-----
              key: secret
              client_ca: ca text
              client_auth_type: RequireClientCert
            """)
        #expect(config.tls?.certificate == .inline("-----BEGIN CERTIFICATE-----\n"))
        #expect(config.tls?.key == .inline("secret"))
        #expect(config.tls?.clientCA == .inline("ca text"))
        #expect(config.tls?.clientAuth == .requireAnyClientCert)
    }

    @Test func headersAsExporterToolkitAllowsThem() throws {
        let config = try Self.parse("""
            http_server_config:
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000; includeSubDomains
                X-Content-Type-Options: nosniff
                X-XSS-Protection: 1
                Content-Security-Policy: "default-src 'self'"
            """)
        #expect(config.headers.map(\.name) == ["X-Frame-Options", "Strict-Transport-Security", "X-Content-Type-Options",
                                               "X-XSS-Protection", "Content-Security-Policy"])
        #expect(config.headers.first?.value == "deny")
        #expect(config.headers.last?.value == "default-src 'self'")
    }

    @Test func rateLimit() throws {
        #expect(try Self.parse("rate_limit:\n  interval: 1s\n  burst: 5\n").rateLimit == .init(interval: .seconds(1), burst: 5))
        #expect(try Self.parse("rate_limit:\n  interval: 0s\n  burst: 5\n").rateLimit == nil)
        #expect(Self.refusal("rate_limit:\n  interval: soon\n") == "rate_limit.interval: \"soon\" is not a duration (e.g. 1s, 100ms)")
        #expect(Self.refusal("rate_limit:\n  interval: 1s\n") == "rate_limit.burst: must be at least 1 when interval is set")
    }

    @Test func refusalsNameTheKey() {
        let cases: [(String, String)] = [
            ("tls_server_config:\n  cert_filse: server.crt\n",
             "tls_server_config.cert_filse: unknown key (expected cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites or curve_preferences)"),
            ("basic_auth: {}\n",
             "basic_auth: unknown key (expected tls_server_config, http_server_config, basic_auth_users or rate_limit)"),
            ("tls_server_config:\n  key_file: a.key\n", "tls_server_config: missing one of cert or cert_file"),
            ("tls_server_config:\n  cert_file: a.crt\n", "tls_server_config: missing one of key or key_file"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
             "tls_server_config.client_auth_type: invalid \"Sometimes\" (expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
             "tls_server_config.client_ca_file: a client CA is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n",
             "tls_server_config.client_auth_type: VerifyClientCertIfGiven needs client_ca_file (or client_ca) to verify client certificates against"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
             "tls_server_config.min_version: unknown TLS version \"TLS14\" (expected TLS10, TLS11, TLS12 or TLS13)"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n",
             "tls_server_config.min_version: TLS13 is above max_version TLS12"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
             "tls_server_config.cipher_suites: unknown cipher suite \"TLS_RSA_WITH_RC4_128_SHA\""),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
             "tls_server_config.cipher_suites: lists only TLS 1.3 suites, which cannot be configured; list TLS 1.2 suites or remove the key"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [CurveP999]\n",
             "tls_server_config.curve_preferences: unknown curve \"CurveP999\""),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n",
             "tls_server_config.client_allowed_sans: needs client_auth_type to verify client certificates (RequireAndVerifyClientCert or VerifyClientCertIfGiven), not NoClientCert"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [x]\n",
             "tls_server_config.client_allowed_sans: needs client_auth_type to verify client certificates (RequireAndVerifyClientCert or VerifyClientCertIfGiven), not RequireAnyClientCert"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequestClientCert\n  client_allowed_sans: [x]\n",
             "tls_server_config.client_allowed_sans: needs client_auth_type to verify client certificates (RequireAndVerifyClientCert or VerifyClientCertIfGiven), not RequestClientCert"),
            ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireClientCert\n  client_allowed_sans: [x]\n",
             "tls_server_config.client_allowed_sans: needs client_auth_type to verify client certificates (RequireAndVerifyClientCert or VerifyClientCertIfGiven), not RequireAnyClientCert"),
            ("tls_server_config:\n  cert_file: [a]\n", "tls_server_config.cert_file: expected a string"),
            ("tls_server_config: yes\n",
             "tls_server_config: expected a mapping of keys (cert, key, client_ca, cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites or curve_preferences)"),
            ("http_server_config:\n  http2: maybe\n", "http_server_config.http2: expected true or false"),
            ("http_server_config:\n  headers:\n    X-Powered-By: swift\n",
             "http_server_config.headers: HTTP header \"X-Powered-By\" can not be configured (allowed: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection or Content-Security-Policy)"),
            ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
             "http_server_config.headers.X-Frame-Options: invalid value \"allow\" (expected deny or sameorigin)"),
            ("basic_auth_users:\n  alice: hunter2\n",
             "basic_auth_users.alice: not a bcrypt hash; make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'"),
            ("basic_auth_users:\n  alice: $2x$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n",
             "basic_auth_users.alice: bcrypt variant $2x$ is not supported; make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'"),
            ("basic_auth_users:\n  alice: $2y$03$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n",
             "basic_auth_users.alice: bcrypt cost must be between 4 and 31; make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'"),
            ("tls_server_config:\n  cert_file: a\n  cert_file: b\n", "not valid YAML: keys written twice: cert_file"),
            ("tls_server_config:\n  cert_file: a\n key_file: b\n", "not valid YAML: line 3, column 2: did not find expected key"),
        ]
        for (text, expected) in cases {
            #expect(Self.refusal(text) == expected, "\(text)")
        }
    }

    @Test func removingClientCertificateVerificationMustBeWritten() throws {
        let verified = try Self.parse("""
            tls_server_config:
              cert_file: a
              key_file: b
              client_ca_file: ca
              client_auth_type: RequireAndVerifyClientCert
            """)
        #expect(verified.authenticates)
        let dropped = try Self.parse("tls_server_config:\n  cert_file: a\n  key_file: b\n")
        #expect(dropped.authenticationRemoved(from: verified)
            == "client certificates are no longer verified (write client_auth_type to mean it)")
        let stated = try Self.parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: NoClientCert\n")
        #expect(stated.authenticationRemoved(from: verified) == nil)
        // Basic auth in place of certificates still authenticates.
        let users = try Self.parse("basic_auth_users:\n  alice: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n")
        #expect(users.authenticationRemoved(from: verified) == nil)
        #expect(try Self.parse("").authenticationRemoved(from: users)
            == "basic_auth_users is empty (write `basic_auth_users: {}` to mean it)")
        #expect(try Self.parse("basic_auth_users: {}\n").authenticationRemoved(from: users) == nil)
    }

    @Test func bcryptVariantsAreNormalizedForTheVerifier() {
        #expect(BcryptHash.normalized("$2y$10$abc") == "$2b$10$abc")
        #expect(BcryptHash.normalized("$2a$10$abc") == "$2a$10$abc")
        #expect(BcryptHash.cost("$2y$12$1DpfPeqF9HzHJt.EWswy1exHluGfbhnn3yXhR7Xes6m3WJqFg0Wby") == 12)
    }
}
