import Diagnostics
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A secret that a command takes either on its command line (`-influxdb-token`) or, kept out
/// of /proc/PID/cmdline and `systemctl show`, from a file named by the same flag with
/// `-file` added (`-influxdb-token-file`, e.g. a systemd credential under %d).
public struct SecretFlag: Sendable {
    /// The plain flag's name, without dashes; the file flag is this plus "-file".
    public var name: String
    /// The plain flag's value ("" when not given).
    public var value: String
    /// The file flag's value ("" when not given).
    public var file: String

    /// Files of secrets are small; anything longer is not a token or a password.
    public static let maxFileBytes = 64 << 10

    public init(name: String, value: String, file: String) {
        self.name = name
        self.value = value
        self.file = file
    }

    /// Throws when both forms are given, which would leave one of them silently unused.
    public func validate() throws(SecretFlagError) {
        if !value.isEmpty && !file.isEmpty { throw .bothGiven(name: name) }
    }

    /// The secret: the file's content without its trailing line break when the file flag is
    /// given, else the plain flag's value. Throws a one-line error naming the flag and the
    /// file when it cannot be read or holds nothing.
    public func resolve() throws(SecretFlagError) -> String {
        try validate()
        guard !file.isEmpty else { return value }
        let bytes: [UInt8]
        do {
            bytes = try readFile(file, limit: Self.maxFileBytes)
        } catch {
            throw .unreadable(name: name, file: file, reason: String(cString: strerror(error.errno)))
        }
        var text = String(decoding: bytes, as: UTF8.self)
        while let last = text.last, last.isNewline { text.removeLast() }
        guard !text.isEmpty else { throw .empty(name: name, file: file) }
        return text
    }
}

/// Why a secret flag could not be used, in one line that names the flag.
public enum SecretFlagError: Error, Equatable, CustomStringConvertible {
    case bothGiven(name: String)
    case unreadable(name: String, file: String, reason: String)
    case empty(name: String, file: String)

    public var description: String {
        switch self {
        case .bothGiven(let name):
            "-\(name) and -\(name)-file are both given: use one (the file keeps the secret off the command line)"
        case .unreadable(let name, let file, let reason):
            "-\(name)-file \(file): cannot read it: \(reason)"
        case .empty(let name, let file):
            "-\(name)-file \(file): the file is empty"
        }
    }
}
