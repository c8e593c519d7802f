#if canImport(Glibc)
import Glibc
#endif

/// A network interface of this host with its addresses (from getifaddrs).
public struct HostInterface: Sendable, Equatable {
    public var name: String
    public var isUp: Bool
    public var isLoopback: Bool
    public var addresses: [IPAddress]
    /// Its 6-byte link-layer (Ethernet) address in the low 48 bits, first byte highest;
    /// nil when it has none, one of another length, or all zeros (loopback).
    public var hardwareAddress: UInt64?

    /// An interface from its fields.
    public init(name: String, isUp: Bool, isLoopback: Bool, addresses: [IPAddress], hardwareAddress: UInt64? = nil) {
        self.name = name
        self.isUp = isUp
        self.isLoopback = isLoopback
        self.addresses = addresses
        self.hardwareAddress = hardwareAddress
    }
}

/// The host's interfaces and addresses.
public enum HostInterfaces {
    /// Every interface with its IPv4 and IPv6 addresses, in name order.
    public static func list() -> [HostInterface] {
        var head: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var byName: [String: HostInterface] = [:]
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            let name = String(cString: entry.pointee.ifa_name)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            var interface = byName[name] ?? HostInterface(
                name: name, isUp: flags & Int32(IFF_UP) != 0,
                isLoopback: flags & Int32(IFF_LOOPBACK) != 0, addresses: [])
            if let sockaddr = entry.pointee.ifa_addr {
                if let address = address(of: sockaddr) {
                    interface.addresses.append(address)
                } else if let hardware = hardwareAddress(of: sockaddr) {
                    interface.hardwareAddress = hardware
                }
            }
            byName[name] = interface
        }
        return byName.values.sorted { $0.name < $1.name }
    }

    /// Default of -capture-max-interfaces: each interface costs a capture thread, a
    /// kernel buffer and a ring, so a host with hundreds of them (container bridges) must
    /// not open them all unasked.
    public static let defaultMaxCaptureInterfaces = 8

    /// The interfaces the agent captures on by default, in name order: up, not loopback,
    /// with an address that is not link-local (an IPv4 address outside 169.254.0.0/16,
    /// or an IPv6 one outside fe80::/10). An interface with only a link-local address
    /// (one veth per container on a Docker host) carries no traffic of this host's own
    /// addresses. At most `limit` are selected; the rest are returned as skipped.
    public static func defaultCaptureInterfaces(
        from interfaces: [HostInterface], limit: Int = defaultMaxCaptureInterfaces
    ) -> (selected: [String], skipped: [String]) {
        let eligible = interfaces
            .filter { $0.isUp && !$0.isLoopback && $0.addresses.contains { !$0.isLinkLocal } }
            .map(\.name)
            .sorted()
        return (Array(eligible.prefix(max(0, limit))), Array(eligible.dropFirst(max(0, limit))))
    }

    /// Every address of every interface (loopback included: loopback traffic is local).
    public static func allAddresses() -> [IPAddress] {
        list().flatMap(\.addresses)
    }

    /// The host's addresses and local `networks`, with the link-layer addresses of its
    /// interfaces: what tells a frame the host sent from one another host forged.
    public static func localAddresses(networks: [IPNetwork] = []) -> LocalAddresses {
        localAddresses(of: list(), networks: networks)
    }

    /// `localAddresses(networks:)` of `interfaces`, a `list()` the caller has already.
    public static func localAddresses(of interfaces: [HostInterface], networks: [IPNetwork] = []) -> LocalAddresses {
        LocalAddresses(addresses: interfaces.flatMap(\.addresses), networks: networks,
                       hardwareAddresses: interfaces.compactMap(\.hardwareAddress))
    }

    /// The 6-byte link-layer address of an AF_PACKET entry, nil for any other, or for one
    /// of all zeros (loopback's), which proves nothing about who sent a frame.
    static func hardwareAddress(of sockaddr: UnsafeMutablePointer<sockaddr>) -> UInt64? {
        guard Int32(sockaddr.pointee.sa_family) == AF_PACKET else { return nil }
        // struct sockaddr_ll (linux/if_packet.h, which Glibc's module leaves out): the
        // address length at byte 11, the address from byte 12.
        let raw = UnsafeRawPointer(sockaddr)
        guard raw.load(fromByteOffset: 11, as: UInt8.self) == 6 else { return nil }
        let address = (12..<18).reduce(UInt64(0)) { $0 << 8 | UInt64(raw.load(fromByteOffset: $1, as: UInt8.self)) }
        return address == 0 ? nil : address
    }

    static func address(of sockaddr: UnsafeMutablePointer<sockaddr>) -> IPAddress? {
        switch Int32(sockaddr.pointee.sa_family) {
        case AF_INET:
            return sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                IPAddress(ipv4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
            }
        case AF_INET6:
            return sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(bytes: $0) }
            }
        default:
            return nil
        }
    }
}
