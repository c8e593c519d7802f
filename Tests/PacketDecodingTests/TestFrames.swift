import NetAddress
import PacketDecoding

/// Builders for hand-made frames, byte by byte as they appear on the wire.
enum TestFrames {
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }

    /// A 20-byte TCP header.
    static func tcp(source: UInt16, destination: UInt16, flags: UInt8) -> [UInt8] {
        be16(source) + be16(destination) + be32(1000) + be32(0) + [0x50, flags] + be16(65535) + [0, 0, 0, 0]
    }

    /// An 8-byte UDP header followed by `payload` zero bytes.
    static func udp(source: UInt16, destination: UInt16, payload: Int = 0) -> [UInt8] {
        be16(source) + be16(destination) + be16(UInt16(8 + payload)) + [0, 0] + [UInt8](repeating: 0, count: payload)
    }

    /// An IPv4 packet. `options` 4-byte words of options; `totalLength` overrides the
    /// computed field.
    static func ipv4(
        source: UInt32 = 0x0A00_0001, destination: UInt32 = 0xC0A8_0102, protocol proto: UInt8,
        payload: [UInt8], options: Int = 0, identification: UInt16 = 0x1234,
        moreFragments: Bool = false, fragmentOffset: UInt16 = 0, totalLength: UInt16? = nil
    ) -> [UInt8] {
        let headerLength = 20 + 4 * options
        let total = totalLength ?? UInt16(headerLength + payload.count)
        let fragment = (moreFragments ? 0x2000 : 0) | fragmentOffset
        var bytes: [UInt8] = [UInt8(0x40 | (headerLength / 4)), 0] + be16(total) + be16(identification)
        bytes += be16(fragment) + [64, proto, 0, 0] + be32(source) + be32(destination)
        bytes += [UInt8](repeating: 1, count: 4 * options)
        return bytes + payload
    }

    static let v6Source: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1]
    static let v6Destination: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 1] + [UInt8](repeating: 0, count: 9) + [2]

    /// An IPv6 packet whose payload (extension headers included) is `payload`.
    static func ipv6(nextHeader: UInt8, payload: [UInt8], payloadLength: UInt16? = nil) -> [UInt8] {
        var bytes: [UInt8] = [0x60, 0, 0, 0] + be16(payloadLength ?? UInt16(payload.count)) + [nextHeader, 64]
        bytes += v6Source + v6Destination
        return bytes + payload
    }

    /// An 8-byte-unit extension header (hop-by-hop, routing, destination options).
    static func extensionHeader(next: UInt8, units: UInt8 = 0) -> [UInt8] {
        [next, units] + [UInt8](repeating: 0, count: 6 + 8 * Int(units))
    }

    /// An authentication header with `words` 4-byte words of ICV after the fixed part.
    static func authenticationHeader(next: UInt8, icvWords: Int = 1) -> [UInt8] {
        [next, UInt8(1 + icvWords), 0, 0] + be32(0x100) + be32(1) + [UInt8](repeating: 0xAB, count: 4 * icvWords)
    }

    static func fragmentHeader(next: UInt8, offset: UInt16, more: Bool, identification: UInt32) -> [UInt8] {
        [next, 0] + be16(offset << 3 | (more ? 1 : 0)) + be32(identification)
    }

    static func ethernet(type: UInt16, tags: [UInt16] = [], payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]
        let outer = tags + [type]
        bytes += be16(outer[0])
        for (index, _) in tags.enumerated() {
            bytes += be16(0x0064 + UInt16(index)) + be16(outer[index + 1])
        }
        return bytes + payload
    }

    static func sll(protocol proto: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(0) + be16(1) + be16(6) + [2, 0, 0, 0, 0, 1, 0, 0] + be16(proto) + payload
    }

    static func sll2(protocol proto: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(proto) + be16(0) + be32(2) + be16(1) + [0, 6] + [2, 0, 0, 0, 0, 1, 0, 0] + payload
    }

    /// A netfilter log frame: family, version 0, resource id 5, then a packet-header
    /// attribute, a prefix attribute and the packet, each padded to 4 bytes, lengths and
    /// types in the given byte order.
    static func nflog(family: UInt8, bigEndian: Bool = false, payload: [UInt8]) -> [UInt8] {
        func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
            let header = be16(UInt16(4 + value.count)) + be16(type)
            let ordered = bigEndian ? header : Array(header[0..<2].reversed()) + Array(header[2..<4].reversed())
            return ordered + value + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
        }
        return [family, 0] + be16(5) + attribute(1, be16(0x0800) + [3, 0]) + attribute(10, Array("pe\0".utf8))
            + attribute(9, payload)
    }

    /// A BSD null/loop header with address family `family` in the given byte order.
    static func bsdLoopback(family: UInt32, bigEndian: Bool, payload: [UInt8]) -> [UInt8] {
        let word = be32(family)
        return (bigEndian ? word : word.reversed()) + payload
    }

    /// Decodes `frame` from a buffer of exactly its size, so a read past it is an
    /// out-of-bounds read that the sanitizers and the decoder's assertions catch.
    static func decode(
        _ frame: [UInt8], wireLength: Int? = nil, linkType: LinkType
    ) -> (DecodeStatus, PacketSummary) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: frame)
        var summary = PacketSummary()
        let status = PacketDecoder.decode(
            UnsafeRawBufferPointer(buffer), wireLength: wireLength ?? frame.count, linkType: linkType, into: &summary)
        return (status, summary)
    }

    /// One valid frame of every link type and header case, used as the mutation seed.
    static func corpus() -> [(LinkType, [UInt8])] {
        let tcpSegment = tcp(source: 43210, destination: 443, flags: 0x12)
        let v4 = ipv4(protocol: 6, payload: tcpSegment)
        let v6Chain = ipv6(
            nextHeader: 0,
            payload: extensionHeader(next: 43, units: 1) + extensionHeader(next: 60) + extensionHeader(next: 51, units: 3)
                + authenticationHeader(next: 44) + fragmentHeader(next: 17, offset: 0, more: true, identification: 7)
                + udp(source: 53, destination: 40000, payload: 16))
        return [
            (.ethernet, ethernet(type: 0x0800, payload: v4 + [UInt8](repeating: 0, count: 6))),
            (.ethernet, ethernet(type: 0x86DD, tags: [0x88A8, 0x8100], payload: v6Chain)),
            (.ethernet, ethernet(type: 0x0800, tags: [0x9100], payload: ipv4(protocol: 17, payload: udp(source: 1, destination: 2), options: 3))),
            (.ethernet, ethernet(type: 0x0800, payload: ipv4(protocol: 6, payload: tcpSegment, moreFragments: true, fragmentOffset: 0))),
            (.ethernet, ethernet(type: 0x0800, payload: ipv4(protocol: 6, payload: [1, 2, 3, 4, 5, 6, 7, 8], fragmentOffset: 185))),
            (.ethernet, ethernet(type: 0x86DD, payload: ipv6(nextHeader: 44, payload: fragmentHeader(next: 6, offset: 100, more: false, identification: 0xDEAD_BEEF) + [1, 2, 3, 4]))),
            (.ethernet, ethernet(type: 0x0806, payload: [UInt8](repeating: 0, count: 28))),
            (.linuxSLL, sll(protocol: 0x0800, payload: v4)),
            (.linuxSLL, sll(protocol: 0x8100, payload: be16(5) + be16(0x86DD) + ipv6(nextHeader: 6, payload: tcpSegment))),
            (.linuxSLL2, sll2(protocol: 0x86DD, payload: ipv6(nextHeader: 50, payload: [0, 0, 1, 0, 0, 0, 0, 1]))),
            (.bsdLoopback, bsdLoopback(family: 2, bigEndian: false, payload: v4)),
            (.bsdLoopback, bsdLoopback(family: 30, bigEndian: true, payload: ipv6(nextHeader: 58, payload: [128, 0, 0, 0]))),
            (.rawIP, ipv6(nextHeader: 60, payload: extensionHeader(next: 6, units: 2) + tcpSegment)),
            (.rawIPv4, ipv4(protocol: 1, payload: [8, 0, 0, 0, 0, 1, 0, 1])),
            (.rawIPv6, ipv6(nextHeader: 59, payload: [])),
            (.nflog, nflog(family: 2, payload: v4)),
            (.nflog, nflog(family: 10, bigEndian: true, payload: ipv6(nextHeader: 6, payload: tcpSegment))),
        ]
    }
}
