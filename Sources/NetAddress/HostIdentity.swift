#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// This host's name and primary address (the address the Go original's metrics call local).
public enum HostIdentity {
    /// The host name (gethostname).
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first IPv4 address of the interface holding the default route, else the first
    /// non-loopback address of an up interface, else 127.0.0.1.
    public static func primaryAddress(procRoot: String = "/proc") -> IPAddress {
        let interfaces = HostInterfaces.list()
        if let routes = try? String(contentsOfFile: procRoot + "/net/route", encoding: .utf8),
           let name = defaultRouteInterface(routeTable: routes),
           let address = interfaces.first(where: { $0.name == name })?.addresses.first(where: \.isIPv4) {
            return address
        }
        let candidates = interfaces.filter { $0.isUp && !$0.isLoopback }.flatMap(\.addresses)
        return candidates.first(where: { $0.isIPv4 && !$0.isLinkLocal })
            ?? candidates.first(where: { !$0.isLinkLocal })
            ?? IPAddress(ipv4: 0x7F00_0001)
    }

    /// The interface of the default route in /proc/net/route text (destination 00000000,
    /// mask 00000000), the one with the lowest metric when there are several.
    static func defaultRouteInterface(routeTable: String) -> String? {
        var best: (name: String, metric: Int)? = nil
        for line in routeTable.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000",
                  let metric = Int(fields[6]) else { continue }
            if best == nil || metric < best!.metric { best = (String(fields[0]), metric) }
        }
        return best?.name
    }
}
