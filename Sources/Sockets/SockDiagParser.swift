import NetAddress

/// Builds `sock_diag` dump requests and parses their responses (the netlink interface
/// `ss` uses), as bytes, so the layout can be tested without a kernel.
///
/// Netlink headers and `inet_diag_msg` scalars are in host byte order; ports and
/// addresses inside `inet_diag_sockid` are in network order.
public enum SockDiagParser {
    static let headerSize = 16
    static let messageSize = 72
    static let requestSize = headerSize + 56
    static let typeDone: UInt16 = 3
    static let typeError: UInt16 = 2
    static let typeSockDiagByFamily: UInt16 = 20
    /// The older `inet_diag` request (TCPDIAG_GETSOCK), answered with messages of the same type.
    static let typeTCPDiagGetSock: UInt16 = 18
    static let compatRequestSize = headerSize + 60
    static let familyIPv4: UInt8 = 2
    static let familyIPv6: UInt8 = 10

    /// What one response buffer held.
    public enum Progress: Sendable, Equatable {
        /// More messages follow in the next read.
        case more
        /// The dump is complete.
        case done
    }

    /// A dump request for every socket of one family and protocol, in all states.
    public static func dumpRequest(ipv6: Bool, protocol proto: TransportProtocol, sequence: UInt32) -> [UInt8] {
        request(type: typeSockDiagByFamily, size: requestSize, sequence: sequence) { raw in
            raw[16] = ipv6 ? familyIPv6 : familyIPv4
            raw[17] = proto.rawValue
            raw.storeBytes(of: UInt32.max, toByteOffset: 20, as: UInt32.self)  // every state
        }
    }

    /// A dump request for every TCP socket of both families, in all states, in the older
    /// `inet_diag_req` form: the kernel answers it with one walk of its TCP hash tables
    /// (family AF_UNSPEC), where the newer form walks them once per family. The TCP hash
    /// table is sized by memory, not by sockets (262,144 buckets on a 24 GB host), so on
    /// a quiet host that walk is most of what reading the table costs.
    public static func tcpBothFamiliesDumpRequest(sequence: UInt32) -> [UInt8] {
        // Family, address lengths, extensions and the socket id stay zero (any).
        request(type: typeTCPDiagGetSock, size: compatRequestSize, sequence: sequence) { raw in
            raw.storeBytes(of: UInt32.max, toByteOffset: headerSize + 52, as: UInt32.self)  // every state
        }
    }

    /// A zeroed dump request of `size` bytes with its netlink header, then `body`'s fields.
    private static func request(type: UInt16, size: Int, sequence: UInt32,
                                _ body: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
        var request = [UInt8](repeating: 0, count: size)
        request.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(size), toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: type, toByteOffset: 4, as: UInt16.self)
            // NLM_F_REQUEST | NLM_F_DUMP
            raw.storeBytes(of: UInt16(0x0301), toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
            body(raw)
        }
        return request
    }

    /// Appends the sockets in one response buffer to `entries`.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, protocol proto: TransportProtocol,
        into entries: inout [SocketEntry]
    ) throws -> Progress {
        var offset = 0
        while bytes.count - offset >= headerSize {
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            let type = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
            guard length >= headerSize, length <= bytes.count - offset else {
                throw SocketTableError("sock_diag: message length \(length) at offset \(offset) overruns the \(bytes.count)-byte reply")
            }
            switch type {
            case typeDone:
                return .done
            case typeError:
                // Widened first: the negation of Int32.min does not fit an Int32.
                let code = length >= headerSize + 4
                    ? -Int64(bytes.loadUnaligned(fromByteOffset: offset + headerSize, as: Int32.self)) : 0
                throw SocketTableError("sock_diag: kernel answered error \(code) (errno) to a \(proto.label) dump")
            case typeSockDiagByFamily, typeTCPDiagGetSock:
                guard length >= headerSize + messageSize else {
                    throw SocketTableError("sock_diag: \(length)-byte message is shorter than inet_diag_msg")
                }
                entries.append(entry(at: offset + headerSize, in: bytes, protocol: proto))
            default:
                break  // NLMSG_NOOP and anything newer carry no socket.
            }
            offset += (length + 3) & ~3
        }
        return .more
    }

    private static func entry(at base: Int, in bytes: UnsafeRawBufferPointer, protocol proto: TransportProtocol) -> SocketEntry {
        let family = bytes[base]
        let state = bytes[base + 1]
        func port(_ at: Int) -> UInt16 {
            UInt16(bytes[base + at]) << 8 | UInt16(bytes[base + at + 1])
        }
        func address(_ at: Int) -> IPAddress {
            func word(_ index: Int) -> UInt64 {
                UInt64(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: base + at + 4 * index, as: UInt32.self)))
            }
            if family == familyIPv4 { return IPAddress(ipv4: UInt32(truncatingIfNeeded: word(0))) }
            return IPAddress(high: word(0) << 32 | word(1), low: word(2) << 32 | word(3))
        }
        return SocketEntry(
            protocol: proto, state: SocketState(kernelState: state, protocol: proto),
            localAddress: address(8), localPort: port(4),
            remoteAddress: address(24), remotePort: port(6),
            inode: UInt64(bytes.loadUnaligned(fromByteOffset: base + 68, as: UInt32.self)),
            uid: bytes.loadUnaligned(fromByteOffset: base + 64, as: UInt32.self))
    }
}
