/// One InfluxDB point with a single float field, as the federator writes them.
public struct Point: Sendable, Equatable {
    /// Measurement name (ingress, egress, upstream, downstream).
    public var measurement: String
    /// Tags sorted by key, none with an empty value.
    public var tags: [(key: String, value: String)]
    /// Field key (bandwidth_bps or service_dependency).
    public var field: String
    /// Field value; must be finite.
    public var value: Double
    /// Nanoseconds since the epoch.
    public var timestampNanoseconds: Int64

    /// A point; `tags` should be sorted by key, as InfluxDB recommends for write speed.
    public init(measurement: String, tags: [(key: String, value: String)], field: String, value: Double, timestampNanoseconds: Int64) {
        self.measurement = measurement
        self.tags = tags
        self.field = field
        self.value = value
        self.timestampNanoseconds = timestampNanoseconds
    }

    public static func == (lhs: Point, rhs: Point) -> Bool {
        lhs.measurement == rhs.measurement && lhs.field == rhs.field && lhs.value == rhs.value
            && lhs.timestampNanoseconds == rhs.timestampNanoseconds
            && lhs.tags.map(\.key) == rhs.tags.map(\.key) && lhs.tags.map(\.value) == rhs.tags.map(\.value)
    }
}

/// InfluxDB line protocol encoding (nanosecond timestamps) and batching.
public enum LineProtocol {
    /// One line, without the trailing newline.
    public static func encode(_ point: Point) -> String {
        var line = escape(point.measurement, special: ", ")
        for tag in point.tags {
            line += "," + escape(tag.key, special: ",= ") + "=" + escape(tag.value, special: ",= ")
        }
        line += " " + escape(point.field, special: ",= ") + "=" + formatFloat(point.value)
        line += " " + String(point.timestampNanoseconds)
        return line
    }

    /// Request bodies of at most `batchSize` points each, in order.
    public static func batches(_ points: [Point], batchSize: Int) -> [String] {
        let size = max(1, batchSize)
        return stride(from: 0, to: points.count, by: size).map { start in
            points[start..<min(start + size, points.count)].map(encode).joined(separator: "\n") + "\n"
        }
    }

    /// Backslash-escapes the characters that would end the token. Line protocol has no
    /// newline escape, so line breaks (never seen in label values in practice) become spaces.
    static func escape(_ text: String, special: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            if character == "\n" || character == "\r" {
                out += "\\ "
            } else {
                if special.contains(character) { out.append("\\") }
                out.append(character)
            }
        }
        return out
    }

    /// Float text InfluxDB parses back to the same value ("1", "0.25", "1e+20").
    static func formatFloat(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
