#if canImport(Glibc)
import Glibc
#endif
import Diagnostics

/// An interface's own counters, as the kernel keeps them in
/// `/sys/class/net/IF/statistics/`: what crossed the interface, whatever captured it.
/// On Ethernet and veth, bytes are whole frames without the FCS, as a capture's wire
/// length counts them.
public struct InterfaceStatistics: Sendable, Equatable {
    public var receiveBytes: UInt64
    public var transmitBytes: UInt64
    public var receivePackets: UInt64
    public var transmitPackets: UInt64
    /// Received packets the kernel dropped (no protocol for them, a full backlog, ...).
    public var receiveDropped: UInt64
    /// Packets the driver could not send (on veth: the peer was down or its queue full).
    public var transmitDropped: UInt64

    /// Counters from their values.
    public init(receiveBytes: UInt64 = 0, transmitBytes: UInt64 = 0, receivePackets: UInt64 = 0,
                transmitPackets: UInt64 = 0, receiveDropped: UInt64 = 0, transmitDropped: UInt64 = 0) {
        self.receiveBytes = receiveBytes
        self.transmitBytes = transmitBytes
        self.receivePackets = receivePackets
        self.transmitPackets = transmitPackets
        self.receiveDropped = receiveDropped
        self.transmitDropped = transmitDropped
    }

    /// Packets received and sent.
    public var packets: UInt64 { receivePackets &+ transmitPackets }
    /// Bytes received and sent.
    public var bytes: UInt64 { receiveBytes &+ transmitBytes }

    /// The counters of `interface` now, from the sysfs at `sysRoot`; nil when the
    /// interface has none there (gone, the pseudo-device "any", not a plain name).
    /// Six reads of a few bytes each: cheap enough for every scrape.
    public static func read(interface: String, sysRoot: String = "/sys") -> InterfaceStatistics? {
        // A name from the command line must not walk out of the interface's directory.
        guard !interface.isEmpty, interface != ".", interface != "..", !interface.contains("/") else { return nil }
        let directory = sysRoot + "/class/net/" + interface + "/statistics/"
        func counter(_ file: String) -> UInt64? {
            (try? readFile(directory + file, limit: 32)).flatMap(parseCounter)
        }
        guard let receiveBytes = counter("rx_bytes"), let transmitBytes = counter("tx_bytes"),
              let receivePackets = counter("rx_packets"), let transmitPackets = counter("tx_packets"),
              let receiveDropped = counter("rx_dropped"), let transmitDropped = counter("tx_dropped")
        else { return nil }
        return InterfaceStatistics(receiveBytes: receiveBytes, transmitBytes: transmitBytes,
                                   receivePackets: receivePackets, transmitPackets: transmitPackets,
                                   receiveDropped: receiveDropped, transmitDropped: transmitDropped)
    }

    /// Parses one statistics file: a decimal number and a newline ("1234\n").
    public static func parseCounter(_ bytes: [UInt8]) -> UInt64? {
        var text = bytes[...]
        if text.last == UInt8(ascii: "\n") { text = text.dropLast() }
        return UInt64(String(decoding: text, as: UTF8.self))
    }
}

extension HostInterfaces {
    /// The kernel's index of the interface named `name`, 0 when there is none: a name
    /// that comes back with another index is another interface.
    public static func index(of name: String) -> UInt32 {
        UInt32(if_nametoindex(name))
    }
}
