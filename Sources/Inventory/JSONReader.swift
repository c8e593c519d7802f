/// Reads JSON straight from the bytes of a body, one value at a time, so that an
/// inventory of hundreds of megabytes is parsed without a second copy of it or a tree of
/// all its values: only the fields an entry needs become Strings.
///
/// Strict where JSON is strict (structure, string escapes, numbers, literals, control
/// characters), lenient where decoders commonly are (invalid UTF-8 inside a string reads
/// as U+FFFD). Nesting deeper than `maxDepth` is refused rather than followed.
struct JSONReader {
    /// The input was not JSON at the current position.
    struct Invalid: Error {}

    /// A value as the inventory reads it: strings kept, everything else only classified.
    enum Field: Equatable {
        case absent
        case null
        case string(String)
        case other
    }

    /// Deepest nesting of arrays and objects followed.
    static let maxDepth = 512

    let bytes: UnsafeRawBufferPointer
    let end: Int
    var position: Int

    /// A reader of `bytes[start..<end]`.
    init(_ bytes: UnsafeRawBufferPointer, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
    }

    var atEnd: Bool { position >= end }

    /// The byte at the position, or nil at the end.
    var current: UInt8? { position < end ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Skips a UTF-8 byte order mark at the position.
    mutating func skipByteOrderMark() {
        if end - position >= 3, bytes[position] == 0xEF, bytes[position + 1] == 0xBB, bytes[position + 2] == 0xBF {
            position += 3
        }
    }

    mutating func expect(_ byte: UInt8) throws(Invalid) {
        guard current == byte else { throw Invalid() }
        position += 1
    }

    /// Skips one value of any kind, checking it is well formed.
    mutating func skipValue(depth: Int = 0) throws(Invalid) {
        guard depth < Self.maxDepth, let byte = current else { throw Invalid() }
        switch byte {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"):
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                try skipString()
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            position += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        default: try skipNumber()
        }
    }

    /// Reads one value as a field: strings decoded, the rest skipped and classified.
    mutating func readField() throws(Invalid) -> Field {
        switch current {
        case UInt8(ascii: "\"")?: return .string(try readString())
        case UInt8(ascii: "n")?:
            try skipLiteral("null")
            return .null
        default:
            try skipValue()
            return .other
        }
    }

    private mutating func skipLiteral(_ literal: StaticString) throws(Invalid) {
        let count = literal.utf8CodeUnitCount
        guard end - position >= count else { throw Invalid() }
        for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { throw Invalid() }
        position += count
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func skipNumber() throws(Invalid) {
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else { throw Invalid() }
        position += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let digit = current, isDigit(digit) else { throw Invalid() }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, isDigit(digit) else { throw Invalid() }
            skipDigits()
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { position += 1 }
    }

    /// Skips a string, checking its escapes; returns whether it had any.
    @discardableResult
    private mutating func skipString() throws(Invalid) -> Bool {
        try expect(UInt8(ascii: "\""))
        var escaped = false
        while true {
            guard let byte = current else { throw Invalid() }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                try skipEscape()
            case 0x00..<0x20:
                throw Invalid()
            default:
                continue
            }
        }
    }

    /// After a backslash: one of the escapes JSON allows; a `\u` high surrogate must be
    /// followed by its low half.
    private mutating func skipEscape() throws(Invalid) {
        guard let byte = current else { throw Invalid() }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return
        case UInt8(ascii: "u"):
            let unit = try hex4()
            if (0xD800...0xDBFF).contains(unit) {
                try expect(UInt8(ascii: "\\"))
                try expect(UInt8(ascii: "u"))
                guard (0xDC00...0xDFFF).contains(try hex4()) else { throw Invalid() }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw Invalid()
            }
        default:
            throw Invalid()
        }
    }

    private mutating func hex4() throws(Invalid) -> UInt32 {
        guard end - position >= 4 else { throw Invalid() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw Invalid()
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// Reads a string at the position and decodes it.
    mutating func readString() throws(Invalid) -> String {
        let start = position + 1
        let escaped = try skipString()
        let close = position - 1
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<close])
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            index += 1
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            let kind = raw[index]
            index += 1
            switch kind {
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = Self.hexValue(raw, at: index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    // skipString checked that the low half follows as \uXXXX.
                    let low = Self.hexValue(raw, at: index + 2)
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                decoded.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
            default: decoded.append(kind)  // \" \\ \/
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private static func hexValue(_ raw: UnsafeRawBufferPointer, at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = raw[index + offset]
            let digit = byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
