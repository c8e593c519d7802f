import NetAddress

/// Parses the text of `/proc/net/tcp`, `tcp6`, `udp` and `udp6`.
///
/// Each row reads `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`, with
/// addresses as the kernel's in-memory words printed in hex (`%08X` per 32-bit word),
/// so their byte order is the host's. IPv4-mapped IPv6 addresses come out as IPv4.
public enum ProcNetParser {
    /// Appends the sockets in one table to `entries`; throws on a row it cannot read.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, protocol proto: TransportProtocol,
        into entries: inout [SocketEntry]
    ) throws {
        var position = 0
        let count = bytes.count
        // The first line is the column header.
        while position < count, bytes[position] != 0x0A { position += 1 }
        position += 1
        var line = 1
        while position < count {
            line += 1
            var cursor = Cursor(bytes: bytes, position: position)
            let lineEnd = cursor.lineEnd()
            defer { position = lineEnd + 1 }
            cursor.skipSpaces()
            if cursor.position >= lineEnd { continue }
            guard let entry = parseRow(&cursor, lineEnd: lineEnd, proto: proto) else {
                throw SocketTableError("\(proto.label) socket table line \(line): not a socket row")
            }
            entries.append(entry)
        }
    }

    /// Parses a table held in an array (fixtures, tests).
    public static func parse(_ bytes: [UInt8], protocol proto: TransportProtocol) throws -> [SocketEntry] {
        var entries: [SocketEntry] = []
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            try parse(raw, protocol: proto, into: &entries)
        }
        return entries
    }

    private static func parseRow(_ c: inout Cursor, lineEnd: Int, proto: TransportProtocol) -> SocketEntry? {
        // "sl:" slot number.
        guard c.skipToken(lineEnd: lineEnd) else { return nil }
        c.skipSpaces()
        guard let (local, localPort) = c.endpoint(lineEnd: lineEnd) else { return nil }
        c.skipSpaces()
        guard let (remote, remotePort) = c.endpoint(lineEnd: lineEnd) else { return nil }
        c.skipSpaces()
        guard let state = c.hex(lineEnd: lineEnd), state <= 0xFF else { return nil }
        // tx_queue:rx_queue, tr:tm->when, retrnsmt.
        for _ in 0..<3 {
            c.skipSpaces()
            guard c.skipToken(lineEnd: lineEnd) else { return nil }
        }
        c.skipSpaces()
        guard let uid = c.decimal(lineEnd: lineEnd), uid <= UInt64(UInt32.max) else { return nil }
        c.skipSpaces()
        guard c.skipToken(lineEnd: lineEnd) else { return nil }  // timeout
        c.skipSpaces()
        guard let inode = c.decimal(lineEnd: lineEnd) else { return nil }
        return SocketEntry(
            protocol: proto, state: SocketState(kernelState: UInt8(state), protocol: proto),
            localAddress: local, localPort: localPort,
            remoteAddress: remote, remotePort: remotePort,
            inode: inode, uid: UInt32(uid))
    }

    /// A read position inside one table; every step is bounded by the line's end.
    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position: Int

        func lineEnd() -> Int {
            var end = position
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            return end
        }

        mutating func skipSpaces() {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        }

        mutating func skipToken(lineEnd: Int) -> Bool {
            let start = position
            while position < lineEnd, bytes[position] != 0x20, bytes[position] != 0x09 { position += 1 }
            return position > start
        }

        mutating func hex(lineEnd: Int) -> UInt64? {
            var value: UInt64 = 0
            let start = position
            while position < lineEnd, let digit = Self.hexDigit(bytes[position]) {
                guard position - start < 16 else { return nil }
                value = value << 4 | UInt64(digit)
                position += 1
            }
            return position > start ? value : nil
        }

        mutating func decimal(lineEnd: Int) -> UInt64? {
            var value: UInt64 = 0
            let start = position
            while position < lineEnd, bytes[position] &- 0x30 < 10 {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(UInt64(bytes[position] &- 0x30))
                guard !o1, !o2 else { return nil }
                value = sum
                position += 1
            }
            return position > start ? value : nil
        }

        /// `HHHHHHHH:PPPP` (IPv4) or 32 hex digits then `:PPPP` (IPv6).
        mutating func endpoint(lineEnd: Int) -> (IPAddress, UInt16)? {
            var words: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
            var digits = 0
            while position < lineEnd, let digit = Self.hexDigit(bytes[position]) {
                guard digits < 32 else { return nil }
                let word = UInt32(digit)
                switch digits >> 3 {
                case 0: words.0 = words.0 << 4 | word
                case 1: words.1 = words.1 << 4 | word
                case 2: words.2 = words.2 << 4 | word
                default: words.3 = words.3 << 4 | word
                }
                digits += 1
                position += 1
            }
            guard position < lineEnd, bytes[position] == UInt8(ascii: ":") else { return nil }
            position += 1
            let portStart = position
            guard let port = hex(lineEnd: lineEnd), position - portStart == 4 else { return nil }
            // Each word was printed from host memory; reading it as big-endian yields
            // the address bytes in network order on any host.
            let address: IPAddress
            switch digits {
            case 8:
                address = IPAddress(ipv4: UInt32(bigEndian: words.0))
            case 32:
                let high = UInt64(UInt32(bigEndian: words.0)) << 32 | UInt64(UInt32(bigEndian: words.1))
                let low = UInt64(UInt32(bigEndian: words.2)) << 32 | UInt64(UInt32(bigEndian: words.3))
                address = IPAddress(high: high, low: low)
            default:
                return nil
            }
            return (address, UInt16(port))
        }

        static func hexDigit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
    }
}
