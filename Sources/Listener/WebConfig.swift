import Diagnostics
import Yams

/// The web configuration file of prometheus/exporter-toolkit (`-web.config.file`), parsed
/// and checked: TLS, response headers, basic auth users and the rate limit. The same keys
/// and defaults as the Go toolkit, so a file written for node_exporter works unchanged;
/// unknown keys are refused as the toolkit's strict YAML decoding refuses them. Pure: no
/// file is read here, paths are only resolved against the file's directory.
public struct WebConfig: Sendable, Equatable {
    /// TLS for the listener; nil serves plain HTTP.
    public var tls: TLSSettings?
    /// `http_server_config.http2`, when written. The agent serves HTTP/1.1 only.
    public var http2: Bool?
    /// `http_server_config.headers`: added to every response, in file order.
    public var headers: [Header] = []
    /// `basic_auth_users`: user name -> bcrypt hash; empty means no authentication.
    public var users: [String: String] = [:]
    /// `rate_limit`: nil when absent or its interval is 0.
    public var rateLimit: RateLimit?
    /// `basic_auth_users: {}` was written: the file means to have no users, which a reload
    /// needs to see before it switches basic auth off on a running server.
    public var declaresNoUsers = false

    /// Whether a request has to prove who sent it: a basic auth user, or a client
    /// certificate that must be given and is verified against the client CA.
    public var authenticates: Bool {
        !users.isEmpty || tls?.verifiesEveryClient == true
    }

    /// Why a reload from `previous` to this config would leave a running server without
    /// authentication, when the file does not say so on purpose; nil when it may be used.
    public func authenticationRemoved(from previous: WebConfig) -> String? {
        guard previous.authenticates, !authenticates else { return nil }
        var unstated: [String] = []
        if !previous.users.isEmpty && !declaresNoUsers {
            unstated.append("basic_auth_users is empty (write `basic_auth_users: {}` to mean it)")
        }
        if previous.tls?.verifiesEveryClient == true && tls?.clientAuthWritten != true {
            unstated.append("client certificates are no longer verified (write client_auth_type to mean it)")
        }
        return unstated.isEmpty ? nil : unstated.joined(separator: " and ")
    }

    /// An empty file: plain HTTP, no users, no headers.
    public init() {}

    /// One configured response header.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// Requests allowed: one every `interval`, with bursts of up to `burst`.
    public struct RateLimit: Sendable, Equatable {
        public var interval: Duration
        public var burst: Int
    }

    /// PEM text written in the file, or a file holding it.
    public enum PEMSource: Sendable, Equatable {
        case file(String)
        case inline(String)
    }

    /// `tls_server_config`.
    public struct TLSSettings: Sendable, Equatable {
        public var certificate: PEMSource
        public var key: PEMSource
        public var clientCA: PEMSource?
        public var clientAuth: ClientAuth = .noClientCert
        public var minVersion: TLSVersionName = .tls12
        public var maxVersion: TLSVersionName = .tls13
        /// Cipher suites for TLS 1.2 and below, as IANA code points, in preference order;
        /// empty keeps the TLS library's defaults. TLS 1.3 suites cannot be configured
        /// (in Go either): they are accepted and left out.
        public var cipherSuites: [UInt16] = []
        /// Named groups for ECDHE, as IANA code points; empty keeps the defaults.
        public var curves: [UInt16] = []
        /// A client certificate must carry one of these subject alternative names.
        public var clientAllowedSANs: [String]?
        /// `client_auth_type` was written in the file (not left to its default): a reload
        /// that stops verifying client certificates needs to see it.
        public var clientAuthWritten = false

        /// Whether every client must present a certificate signed by the client CA: so
        /// asks RequireAndVerifyClientCert, and VerifyClientCertIfGiven with allowed SANs.
        public var verifiesEveryClient: Bool {
            clientAuth == .requireAndVerifyClientCert || (clientAuth.verifies && !(clientAllowedSANs ?? []).isEmpty)
        }

        /// The files the settings read, to notice when one changes.
        public var files: [String] {
            [certificate, key, clientCA].compactMap { source in
                if case .file(let path) = source { return path } else { return nil }
            }
        }
    }

    /// `client_auth_type`, named as Go's tls.ClientAuthType.
    public enum ClientAuth: String, Sendable, Equatable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Whether a presented client certificate is checked against the client CA.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
        /// Whether a client without a certificate is refused.
        public var requiresCertificate: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
    }

    /// `min_version` / `max_version`.
    public enum TLSVersionName: String, Sendable, Equatable, Comparable, CaseIterable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        public static func < (lhs: Self, rhs: Self) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The cipher suite names Go's tls.CipherSuites() knows, with their code points.
    public static let cipherSuiteNames: [(name: String, code: UInt16)] = [
        ("TLS_AES_128_GCM_SHA256", 0x1301), ("TLS_AES_256_GCM_SHA384", 0x1302),
        ("TLS_CHACHA20_POLY1305_SHA256", 0x1303),
        ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F), ("TLS_RSA_WITH_AES_256_CBC_SHA", 0x0035),
        ("TLS_RSA_WITH_AES_128_GCM_SHA256", 0x009C), ("TLS_RSA_WITH_AES_256_GCM_SHA384", 0x009D),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC009), ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", 0xC00A),
        ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC013), ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 0xC014),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B), ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F), ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030),
        ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8),
        ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9),
    ]

    /// The curve names of exporter-toolkit, with their code points.
    public static let curveNames: [(name: String, code: UInt16)] = [
        ("CurveP256", 0x17), ("CurveP384", 0x18), ("CurveP521", 0x19), ("X25519", 0x1D),
    ]

    /// The headers exporter-toolkit lets a file set, with the values allowed (nil: any).
    public static let allowedHeaders: [(name: String, values: [String]?)] = [
        ("Strict-Transport-Security", nil),
        ("X-Content-Type-Options", ["nosniff"]),
        ("X-Frame-Options", ["deny", "sameorigin"]),
        ("X-XSS-Protection", nil),
        ("Content-Security-Policy", nil),
    ]
}

/// What is wrong with a web config file, naming the key: `tls_server_config.min_version:
/// unknown TLS version "TLS14" (expected TLS10, TLS11, TLS12 or TLS13)`.
public struct WebConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The key, as a dotted path from the top of the file ("" for the whole file).
    public var key: String
    public var problem: String

    public init(key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { key.isEmpty ? problem : "\(key): \(problem)" }
}

extension WebConfig {
    /// Parses the text of a web config file. Relative paths are taken from `directory`
    /// (the file's own, as exporter-toolkit does); `parseDuration` reads rate_limit's
    /// interval (Go's syntax, "1s").
    public static func parse(_ text: String, directory: String,
                             parseDuration: (String) -> Duration?) throws(WebConfigError) -> WebConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw WebConfigError(key: "", "not valid YAML: \(oneLine(error))")
        } catch {
            throw WebConfigError(key: "", "not valid YAML: \(error)")
        }
        var config = WebConfig()
        guard let root, !isNull(root) else { return config }
        let top = try mapping(root, key: "", allowed: ["tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"])
        if let node = top["tls_server_config"] {
            config.tls = try parseTLS(node, directory: directory)
        }
        if let node = top["http_server_config"] {
            let http = try mapping(node, key: "http_server_config", allowed: ["http2", "headers"])
            if let value = http["http2"] { config.http2 = try bool(value, key: "http_server_config.http2") }
            if let value = http["headers"] { config.headers = try parseHeaders(value) }
        }
        if let node = top["basic_auth_users"] {
            for (user, hash) in try stringMapping(node, key: "basic_auth_users") {
                try BcryptHash.check(hash, key: "basic_auth_users.\(user)")
                config.users[user] = hash
            }
            // Only a written empty mapping counts: an empty key is also what a file cut
            // short by a writer leaves behind.
            config.declaresNoUsers = config.users.isEmpty
        }
        if let node = top["rate_limit"] {
            config.rateLimit = try parseRateLimit(node, parseDuration: parseDuration)
        }
        return config
    }

    private static let tlsKeys = [
        "cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file",
        "client_allowed_sans", "min_version", "max_version", "cipher_suites", "prefer_server_cipher_suites",
        "curve_preferences",
    ]

    private static func parseTLS(_ node: Node, directory: String) throws(WebConfigError) -> TLSSettings? {
        let fields = try mapping(node, key: "tls_server_config", allowed: tlsKeys)
        func text(_ name: String) throws(WebConfigError) -> String {
            guard let value = fields[name] else { return "" }
            return try string(value, key: "tls_server_config.\(name)")
        }
        func path(_ name: String) throws(WebConfigError) -> String {
            let value = try text(name)
            return value.isEmpty || value.hasPrefix("/") ? value : directory + "/" + value
        }
        let cert = try text("cert"), key = try text("key"), clientCA = try text("client_ca")
        let certFile = try path("cert_file"), keyFile = try path("key_file"), clientCAFile = try path("client_ca_file")
        let authText = try text("client_auth_type")
        // exporter-toolkit serves plain HTTP when none of these is set (its IsEnabled).
        let enabled = [cert, key, clientCA, certFile, keyFile, clientCAFile, authText].contains { !$0.isEmpty }
        guard enabled else { return nil }
        guard !(certFile.isEmpty && cert.isEmpty) else {
            throw WebConfigError(key: "tls_server_config", "missing one of cert or cert_file")
        }
        guard !(keyFile.isEmpty && key.isEmpty) else {
            throw WebConfigError(key: "tls_server_config", "missing one of key or key_file")
        }
        // A file wins over inline text, as in exporter-toolkit.
        var settings = TLSSettings(certificate: certFile.isEmpty ? .inline(cert) : .file(certFile),
                                   key: keyFile.isEmpty ? .inline(key) : .file(keyFile))
        if !clientCAFile.isEmpty {
            settings.clientCA = .file(clientCAFile)
        } else if !clientCA.isEmpty {
            settings.clientCA = .inline(clientCA)
        }
        switch authText {
        case "", "NoClientCert": settings.clientAuth = .noClientCert
        // The toolkit still reads the old name RequireClientCert as RequireAnyClientCert.
        case "RequireClientCert": settings.clientAuth = .requireAnyClientCert
        default:
            guard let auth = ClientAuth(rawValue: authText) else {
                throw WebConfigError(key: "tls_server_config.client_auth_type",
                                     "invalid \(quoted(authText)) (expected \(listed(ClientAuth.allCases.map(\.rawValue))))")
            }
            settings.clientAuth = auth
        }
        settings.clientAuthWritten = !authText.isEmpty
        if settings.clientCA != nil && settings.clientAuth == .noClientCert {
            throw WebConfigError(key: fields["client_ca_file"] != nil ? "tls_server_config.client_ca_file" : "tls_server_config.client_ca",
                                 "a client CA is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)")
        }
        if settings.clientAuth.verifies && settings.clientCA == nil {
            throw WebConfigError(key: "tls_server_config.client_auth_type",
                                 "\(settings.clientAuth.rawValue) needs client_ca_file (or client_ca) to verify client certificates against")
        }
        if let value = fields["min_version"] { settings.minVersion = try tlsVersion(value, key: "tls_server_config.min_version") }
        if let value = fields["max_version"] { settings.maxVersion = try tlsVersion(value, key: "tls_server_config.max_version") }
        if settings.minVersion > settings.maxVersion {
            throw WebConfigError(key: "tls_server_config.min_version",
                                 "\(settings.minVersion.rawValue) is above max_version \(settings.maxVersion.rawValue)")
        }
        if let value = fields["cipher_suites"] {
            let codes = try names(value, key: "tls_server_config.cipher_suites", kind: "cipher suite", table: cipherSuiteNames)
            settings.cipherSuites = codes.filter { $0 >> 8 != 0x13 }
            if settings.cipherSuites.isEmpty && !codes.isEmpty {
                throw WebConfigError(key: "tls_server_config.cipher_suites",
                                     "lists only TLS 1.3 suites, which cannot be configured; list TLS 1.2 suites or remove the key")
            }
        }
        if let value = fields["curve_preferences"] {
            settings.curves = try names(value, key: "tls_server_config.curve_preferences", kind: "curve", table: curveNames)
        }
        if let value = fields["prefer_server_cipher_suites"] {
            // Go has ignored it since 1.18; read for its type only.
            _ = try bool(value, key: "tls_server_config.prefer_server_cipher_suites")
        }
        if let value = fields["client_allowed_sans"] {
            let sans = try strings(value, key: "tls_server_config.client_allowed_sans")
            // Names in a certificate nobody verified prove nothing: anyone can make one.
            if !sans.isEmpty && !settings.clientAuth.verifies {
                throw WebConfigError(key: "tls_server_config.client_allowed_sans",
                                     "needs client_auth_type to verify client certificates (RequireAndVerifyClientCert or VerifyClientCertIfGiven), not \(settings.clientAuth.rawValue)")
            }
            settings.clientAllowedSANs = sans
        }
        return settings
    }

    private static func parseHeaders(_ node: Node) throws(WebConfigError) -> [Header] {
        var headers: [Header] = []
        for (name, value) in try stringMapping(node, key: "http_server_config.headers") {
            guard let allowed = allowedHeaders.first(where: { $0.name == name }) else {
                throw WebConfigError(key: "http_server_config.headers",
                                     "HTTP header \(quoted(name)) can not be configured (allowed: \(listed(allowedHeaders.map(\.name))))")
            }
            if let values = allowed.values, !values.contains(value) {
                throw WebConfigError(key: "http_server_config.headers.\(name)",
                                     "invalid value \(quoted(value)) (expected \(listed(values)))")
            }
            // A blank value leaves the header unset, as the toolkit documents.
            if !value.isEmpty { headers.append(Header(name: name, value: value)) }
        }
        return headers
    }

    private static func parseRateLimit(_ node: Node, parseDuration: (String) -> Duration?) throws(WebConfigError) -> RateLimit? {
        let fields = try mapping(node, key: "rate_limit", allowed: ["interval", "burst"])
        var interval = Duration.zero
        if let value = fields["interval"] {
            let text = try string(value, key: "rate_limit.interval")
            guard let parsed = parseDuration(text), parsed >= .zero else {
                throw WebConfigError(key: "rate_limit.interval", "\(quoted(text)) is not a duration (e.g. 1s, 100ms)")
            }
            interval = parsed
        }
        var burst = 0
        if let value = fields["burst"] {
            let text = try string(value, key: "rate_limit.burst")
            guard let parsed = Int(text), parsed >= 0 else {
                throw WebConfigError(key: "rate_limit.burst", "\(quoted(text)) is not a whole number")
            }
            burst = parsed
        }
        guard interval > .zero else { return nil }
        // A bucket of 0 would refuse every request: surely not what was meant.
        guard burst >= 1 else { throw WebConfigError(key: "rate_limit.burst", "must be at least 1 when interval is set") }
        return RateLimit(interval: interval, burst: burst)
    }

    // MARK: Reading nodes

    private static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A mapping's values by key; refuses keys not in `allowed` and keys written twice.
    private static func mapping(_ node: Node, key: String, allowed: [String]) throws(WebConfigError) -> [String: Node] {
        if isNull(node) { return [:] }
        guard case .mapping(let mapping) = node else {
            throw WebConfigError(key: key, "expected a mapping of keys (\(listed(allowed)))")
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            let name = try scalarText(keyNode, key: key)
            let path = key.isEmpty ? name : "\(key).\(name)"
            guard allowed.contains(name) else {
                throw WebConfigError(key: path, "unknown key (expected \(listed(allowed)))")
            }
            guard result[name] == nil else { throw WebConfigError(key: path, "written twice") }
            if !isNull(value) { result[name] = value }
        }
        return result
    }

    /// A mapping of strings to strings, in file order (users, headers).
    private static func stringMapping(_ node: Node, key: String) throws(WebConfigError) -> [(String, String)] {
        if isNull(node) { return [] }
        guard case .mapping(let mapping) = node else { throw WebConfigError(key: key, "expected a mapping of names to values") }
        var result: [(String, String)] = []
        for (keyNode, value) in mapping {
            let name = try scalarText(keyNode, key: key)
            guard !result.contains(where: { $0.0 == name }) else { throw WebConfigError(key: "\(key).\(name)", "written twice") }
            result.append((name, isNull(value) ? "" : try string(value, key: "\(key).\(name)")))
        }
        return result
    }

    private static func scalarText(_ node: Node, key: String) throws(WebConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw WebConfigError(key: key, "a key must be plain text") }
        return scalar.string
    }

    private static func string(_ node: Node, key: String) throws(WebConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw WebConfigError(key: key, "expected a string") }
        return scalar.string
    }

    private static func bool(_ node: Node, key: String) throws(WebConfigError) -> Bool {
        guard case .scalar(let scalar) = node, let value = Bool.construct(from: scalar) else {
            throw WebConfigError(key: key, "expected true or false")
        }
        return value
    }

    private static func strings(_ node: Node, key: String) throws(WebConfigError) -> [String] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else { throw WebConfigError(key: key, "expected a list of strings") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, key: key)) }
        return result
    }

    private static func names(_ node: Node, key: String, kind: String,
                              table: [(name: String, code: UInt16)]) throws(WebConfigError) -> [UInt16] {
        var codes: [UInt16] = []
        for name in try strings(node, key: key) {
            guard let entry = table.first(where: { $0.name == name }) else {
                throw WebConfigError(key: key, "unknown \(kind) \(quoted(name))")
            }
            codes.append(entry.code)
        }
        return codes
    }

    private static func tlsVersion(_ node: Node, key: String) throws(WebConfigError) -> TLSVersionName {
        let text = try string(node, key: key)
        guard let version = TLSVersionName(rawValue: text) else {
            throw WebConfigError(key: key, "unknown TLS version \(quoted(text)) (expected \(listed(TLSVersionName.allCases.map(\.rawValue))))")
        }
        return version
    }

    /// "a, b or c".
    private static func listed(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    /// A YAML syntax error on one line: "line 3, column 5: mapping values are not allowed here".
    private static func oneLine(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "keys written twice: \(duplicates.map { "\($0)" }.sorted().joined(separator: ", "))"
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

/// A bcrypt hash as exporter-toolkit accepts it ($2a$, $2b$ or $2y$, cost 4 to 31).
enum BcryptHash {
    /// Throws unless `hash` is a bcrypt hash the verifier can check.
    static func check(_ hash: String, key: String) throws(WebConfigError) {
        let bytes = Array(hash.utf8)
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        let hint = "make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n'"
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              bytes[7...].allSatisfy({ alphabet.contains($0) }) else {
            throw WebConfigError(key: key, "not a bcrypt hash; \(hint)")
        }
        guard [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]) else {
            throw WebConfigError(key: key, "bcrypt variant $2\(Character(UnicodeScalar(bytes[2])))$ is not supported; \(hint)")
        }
        guard let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost) else {
            throw WebConfigError(key: key, "bcrypt cost must be between 4 and 31; \(hint)")
        }
    }

    /// The form the verifier reads: $2y$ (PHP's name) is the same algorithm as $2b$.
    static func normalized(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    /// The cost written in a checked hash.
    static func cost(_ hash: String) -> Int {
        Int(String(decoding: hash.utf8.dropFirst(4).prefix(2), as: UTF8.self))!
    }
}
