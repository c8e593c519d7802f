/// One InfluxDB point with a single field, as the federator writes them.
public struct Point: Sendable, Equatable {
    /// A field value: the federator writes floats; strings are part of the encoder so that
    /// every token of line protocol is escaped in one place.
    public enum FieldValue: Sendable, Equatable {
        /// A float; must be finite.
        case float(Double)
        /// A string field.
        case string(String)
    }

    /// Measurement name (ingress, egress, upstream, downstream); must not begin with `#`,
    /// which would make the line a comment. InfluxDB 1.x unescapes measurement names twice
    /// on their way in and out, so a backslash in one is not read back reliably.
    public var measurement: String
    /// Tags sorted by key, none with an empty value.
    public var tags: [(key: String, value: String)]
    /// Field key (bandwidth_bps or service_dependency).
    public var field: String
    /// Field value.
    public var fieldValue: FieldValue
    /// Nanoseconds since the epoch.
    public var timestampNanoseconds: Int64

    /// A point with a float field; `tags` should be sorted by key, as InfluxDB recommends for write speed.
    public init(measurement: String, tags: [(key: String, value: String)], field: String, value: Double, timestampNanoseconds: Int64) {
        self.init(measurement: measurement, tags: tags, field: field, fieldValue: .float(value), timestampNanoseconds: timestampNanoseconds)
    }

    /// A point with any field value.
    public init(measurement: String, tags: [(key: String, value: String)], field: String, fieldValue: FieldValue, timestampNanoseconds: Int64) {
        self.measurement = measurement
        self.tags = tags
        self.field = field
        self.fieldValue = fieldValue
        self.timestampNanoseconds = timestampNanoseconds
    }

    public static func == (lhs: Point, rhs: Point) -> Bool {
        lhs.measurement == rhs.measurement && lhs.field == rhs.field && lhs.fieldValue == rhs.fieldValue
            && lhs.timestampNanoseconds == rhs.timestampNanoseconds
            && lhs.tags.map(\.key) == rhs.tags.map(\.key) && lhs.tags.map(\.value) == rhs.tags.map(\.value)
    }
}

/// InfluxDB line protocol encoding (nanosecond timestamps).
///
/// Escaping follows the line protocol reference: commas and spaces in measurements;
/// commas, equals signs and spaces in tag keys, tag values and field keys; double quotes
/// and backslashes in string field values. InfluxDB's parser cannot read back two things
/// in names and tag values, so they are written in a documented stand-in form instead of
/// breaking the line (docs/federator.md): a line feed becomes the two characters `\n`,
/// and a backslash at the end of the token or right before a character that needs
/// escaping becomes a slash (InfluxDB would take it for an escape, and its line splitter
/// would then misread the rest of the batch).
public enum LineProtocol {
    /// One line, without the trailing newline.
    public static func encode(_ point: Point) -> String {
        var bytes: [UInt8] = []
        append(point, to: &bytes)
        return String(decoding: bytes.dropLast(), as: UTF8.self)
    }

    /// Appends one line and its newline to `out`.
    public static func append(_ point: Point, to out: inout [UInt8]) {
        appendName(point.measurement, specials: measurementSpecials, to: &out)
        for tag in point.tags {
            out.append(UInt8(ascii: ","))
            appendName(tag.key, specials: keySpecials, to: &out)
            out.append(UInt8(ascii: "="))
            appendName(tag.value, specials: keySpecials, to: &out)
        }
        out.append(UInt8(ascii: " "))
        appendName(point.field, specials: keySpecials, to: &out)
        out.append(UInt8(ascii: "="))
        switch point.fieldValue {
        case .float(let value):
            out.append(contentsOf: formatFloat(value).utf8)
        case .string(let text):
            appendStringField(text, to: &out)
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: String(point.timestampNanoseconds).utf8)
        out.append(UInt8(ascii: "\n"))
    }

    /// Characters escaped in a measurement name.
    static let measurementSpecials: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: " ")]
    /// Characters escaped in tag keys, tag values and field keys.
    static let keySpecials: [UInt8] = [UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: " ")]

    /// Appends a measurement, tag key, tag value or field key.
    static func appendName(_ text: String, specials: [UInt8], to out: inout [UInt8]) {
        let backslash = UInt8(ascii: "\\")
        var utf8 = text.utf8.makeIterator()
        var current = utf8.next()
        while let byte = current {
            let next = utf8.next()
            if byte == UInt8(ascii: "\n") {
                out.append(backslash)
                out.append(UInt8(ascii: "n"))
            } else if byte == backslash && (next == nil || specials.contains(next!)) {
                out.append(UInt8(ascii: "/"))
            } else {
                if specials.contains(byte) { out.append(backslash) }
                out.append(byte)
            }
            current = next
        }
    }

    /// Appends a double-quoted string field value.
    static func appendStringField(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Float text InfluxDB parses back to the same value ("1", "0.25", "1e+20").
    static func formatFloat(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
