import Foundation

/// `-web.allowed-hosts`: the names and addresses a request's Host header may give. A page
/// on another site that rebinds its own DNS name to this server's address makes the
/// browser send requests here carrying that site's name in Host; listing the names the
/// agent is really reached by refuses them. Empty (the default) allows any Host.
public struct AllowedHosts: Sendable, Equatable {
    /// One allowed host, with the only port it may come with, or any port.
    struct Entry: Sendable, Equatable {
        var host: String
        var port: Int?
    }

    let entries: [Entry]

    /// Any Host allowed.
    public init() { entries = [] }

    /// Reads the flag's value: host names or addresses separated by commas, each with an
    /// optional `:port` (IPv6 addresses in brackets when a port follows, `[::1]:19100`).
    public init(parsing text: String) throws(AllowedHostsError) {
        var entries: [Entry] = []
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            // A bare IPv6 address has colons and no brackets: all of it is the host.
            let isBareIPv6 = !trimmed.hasPrefix("[") && trimmed.filter { $0 == ":" }.count > 1
            guard let (host, port) = isBareIPv6 ? (Self.normalized(trimmed), nil) : Self.split(trimmed), !host.isEmpty,
                  host.allSatisfy({ !$0.isWhitespace && $0 != "/" && $0 != "@" }) else {
                throw AllowedHostsError(entry: trimmed)
            }
            entries.append(Entry(host: host, port: port))
        }
        self.entries = entries
    }

    /// Whether every Host is allowed (no list given).
    public var allowsAny: Bool { entries.isEmpty }

    /// Whether a request whose Host header (or absolute URI's authority) is `authority`
    /// may be answered; a request without one is refused once a list is given.
    func allows(_ authority: String?) -> Bool {
        if entries.isEmpty { return true }
        guard let authority, let (host, port) = Self.split(authority) else { return false }
        return entries.contains { $0.host == host && ($0.port == nil || $0.port == port) }
    }

    /// Host and port of `host[:port]` or `[v6][:port]`, the host lowercased and without a
    /// final dot; nil when the port is not a number in 1...65535.
    static func split(_ authority: String) -> (host: String, port: Int?)? {
        var host = Substring(authority), portText: Substring? = nil
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        var port: Int? = nil
        if let portText {
            guard portText.count <= 5, portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                return nil
            }
            port = number
        }
        return (normalized(host), port)
    }

    private static func normalized(_ host: some StringProtocol) -> String {
        let lowered = host.lowercased()
        return lowered.hasSuffix(".") ? String(lowered.dropLast()) : lowered
    }
}

/// An entry of `-web.allowed-hosts` that is not a host with an optional port.
public struct AllowedHostsError: Error, CustomStringConvertible, Sendable {
    public let entry: String

    public var description: String {
        "-web.allowed-hosts: \(entry.debugDescription) is not a host name or address with an optional port (e.g. planet.example:19100, 10.0.0.1, [::1]:19100)"
    }
}
