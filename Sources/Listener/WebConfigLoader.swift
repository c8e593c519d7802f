import Diagnostics
import Glibc
import HummingbirdTLS
import NIOCore
import NIOSSL

/// A web config with everything it names read and checked: the TLS settings built into
/// what swift-nio-ssl serves with, so a config that loads is one that can serve.
public struct LoadedWebConfig: Sendable {
    public let config: WebConfig
    /// What new TLS connections are set up with; nil serves plain HTTP.
    public let tls: TLSChannelConfiguration?
    /// The files read, as they were, to notice when one changes.
    let stamps: [FileStamp]
    /// Tells one load from another (what was built for a load is kept until the next).
    let identity = Identity()

    /// One load's identity.
    final class Identity: Sendable {}
}

/// What a file looked like when it was read: a rewrite, a rename over it or a change of
/// contents gives another stamp. A file that could not be looked at stamps its errno.
struct FileStamp: Equatable, Sendable {
    var path: String
    var device: UInt64 = 0, inode: UInt64 = 0, size: Int64 = 0
    var modified: timespec = timespec(), changed: timespec = timespec()
    var errno: Int32 = 0

    init(path: String) {
        self.path = path
        var info = stat()
        guard fstatat(AT_FDCWD, path, &info, 0) == 0 else {
            errno = Glibc.errno
            return
        }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    static func == (a: FileStamp, b: FileStamp) -> Bool {
        a.path == b.path && a.device == b.device && a.inode == b.inode && a.size == b.size && a.errno == b.errno
            && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
            && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }
}

/// Reads a web config file and what it names (certificates, key, client CA).
enum WebConfigLoader {
    /// Config files and PEM files are small; anything larger is not one.
    static let fileLimit = 1 << 20

    /// Loads `path`; the error names the key at fault, and the file.
    static func load(path: String, parseDuration: (String) -> Duration?) throws(WebConfigError) -> LoadedWebConfig {
        // Stamped before reading, so a change made while reading is seen by the next check.
        var stamps = [FileStamp(path: path)]
        let bytes: [UInt8]
        do {
            bytes = try readFile(path, limit: fileLimit)
        } catch {
            throw WebConfigError(key: "", "cannot \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw WebConfigError(key: "", "not UTF-8 text")
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let config = try WebConfig.parse(text, directory: directory.isEmpty ? "/" : directory, parseDuration: parseDuration)
        var tls: TLSChannelConfiguration? = nil
        if let settings = config.tls {
            stamps += settings.files.map { FileStamp(path: $0) }
            tls = try makeTLS(settings)
        }
        return LoadedWebConfig(config: config, tls: tls, stamps: stamps)
    }

    /// The stamps the files named by `loaded` have now.
    static func stamps(of loaded: LoadedWebConfig) -> [FileStamp] {
        loaded.stamps.map { FileStamp(path: $0.path) }
    }

    /// swift-nio-ssl's server configuration for `settings`, checked by building a context
    /// (which also refuses a key that does not belong to the certificate).
    static func makeTLS(_ settings: WebConfig.TLSSettings) throws(WebConfigError) -> TLSChannelConfiguration {
        let certificatePEM = try pem(settings.certificate, key: "cert")
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(certificatePEM)
        } catch {
            throw WebConfigError(key: keyName("cert", settings.certificate), "no PEM certificate could be read\(fileSuffix(settings.certificate))")
        }
        guard !certificates.isEmpty else {
            throw WebConfigError(key: keyName("cert", settings.certificate), "holds no PEM certificate\(fileSuffix(settings.certificate))")
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: try pem(settings.key, key: "key"), format: .pem)
        } catch let error as WebConfigError {
            throw error
        } catch {
            // The key's text is a secret: never repeated in a message.
            throw WebConfigError(key: keyName("key", settings.key), "not an unencrypted PEM private key\(fileSuffix(settings.key))")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: certificates.map { .certificate($0) },
                                                           privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = version(settings.minVersion)
        tls.maximumTLSVersion = version(settings.maxVersion)
        if !settings.cipherSuites.isEmpty { tls.cipherSuiteValues = settings.cipherSuites.map { NIOTLSCipher(rawValue: $0) } }
        if !settings.curves.isEmpty { tls.curves = settings.curves.map { NIOTLSCurve(rawValue: $0) } }
        var clientCAs: [NIOSSLCertificate] = []
        if let source = settings.clientCA {
            do {
                clientCAs = try NIOSSLCertificate.fromPEMBytes(try pem(source, key: "client_ca"))
            } catch let error as WebConfigError {
                throw error
            } catch {
                throw WebConfigError(key: keyName("client_ca", source), "no PEM certificate could be read\(fileSuffix(source))")
            }
            guard !clientCAs.isEmpty else {
                throw WebConfigError(key: keyName("client_ca", source), "holds no PEM certificate\(fileSuffix(source))")
            }
            tls.trustRoots = .certificates(clientCAs)
            tls.sendCANameList = true
        } else {
            tls.trustRoots = .certificates([])
        }
        // Go's names mapped to BoringSSL's modes; the two that take any certificate
        // replace verification by one that accepts whatever the client presents.
        var acceptAnyCertificate = false
        switch settings.clientAuth {
        case .noClientCert: tls.certificateVerification = .none
        case .requestClientCert: tls.certificateVerification = .optionalVerification; acceptAnyCertificate = true
        case .requireAnyClientCert: tls.certificateVerification = .noHostnameVerification; acceptAnyCertificate = true
        case .verifyClientCertIfGiven: tls.certificateVerification = .optionalVerification
        case .requireAndVerifyClientCert: tls.certificateVerification = .noHostnameVerification
        }
        do {
            _ = try NIOSSLContext(configuration: tls)
        } catch {
            throw WebConfigError(key: "tls_server_config", "the key does not belong to the certificate, or a setting is not supported (\(error))")
        }
        if acceptAnyCertificate {
            return TLSChannelConfiguration(tlsConfiguration: tls) { _, promise in promise.succeed(.certificateVerified) }
        }
        return TLSChannelConfiguration(tlsConfiguration: tls)
    }

    private static func version(_ name: WebConfig.TLSVersionName) -> TLSVersion {
        switch name {
        case .tls10: return .tlsv1
        case .tls11: return .tlsv11
        case .tls12: return .tlsv12
        case .tls13: return .tlsv13
        }
    }

    private static func pem(_ source: WebConfig.PEMSource, key: String) throws(WebConfigError) -> [UInt8] {
        switch source {
        case .inline(let text):
            return Array(text.utf8)
        case .file(let path):
            do {
                return try readFile(path, limit: fileLimit)
            } catch {
                throw WebConfigError(key: keyName(key, source), "cannot \(error)")
            }
        }
    }

    /// `tls_server_config.cert_file` or `tls_server_config.cert`, as the file wrote it.
    private static func keyName(_ key: String, _ source: WebConfig.PEMSource) -> String {
        if case .file = source { return "tls_server_config.\(key)_file" }
        return "tls_server_config.\(key)"
    }

    private static func fileSuffix(_ source: WebConfig.PEMSource) -> String {
        if case .file(let path) = source { return " from \(path)" }
        return ""
    }
}
