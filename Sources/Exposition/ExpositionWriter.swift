/// Writes the Prometheus text exposition format (version 0.0.4) into a byte buffer.
///
/// Callers write a family header once and then its samples; labels are written in the
/// order given, so callers pass them sorted by name as client_golang does. Empty label
/// values are written as `""`, as the Go original does.
public struct ExpositionWriter: Sendable {
    /// The exposition so far, UTF-8.
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity, once its bytes have been sent on.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// The exposition so far as a String.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The content type a scrape response carries.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Metric family kinds of the text format.
    public enum Kind: String, Sendable {
        case counter, gauge, histogram, untyped
    }

    /// Writes `# HELP` and `# TYPE` lines for a family.
    public mutating func family(_ name: String, help: String, kind: Kind) {
        append("# HELP ")
        append(name)
        bytes.append(0x20)
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE ")
        append(name)
        bytes.append(0x20)
        append(kind.rawValue)
        bytes.append(0x0A)
    }

    /// Writes one sample with an integer value.
    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: UInt64) {
        writeSeries(name, labels)
        append(String(value))
        bytes.append(0x0A)
    }

    /// Writes one sample with a floating-point value (`NaN`, `+Inf`, `-Inf` as the format spells them).
    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Double) {
        writeSeries(name, labels)
        append(Self.format(value))
        bytes.append(0x0A)
    }

    /// Writes one sample whose labels are given as an array (for label sets built at run time).
    public mutating func sample(_ name: String, labels: [(String, String)], _ value: UInt64) {
        writeSeriesName(name, labels.count)
        for (index, (key, value)) in labels.enumerated() {
            writeLabel(key, value, first: index == 0)
        }
        if !labels.isEmpty { append("} ") }
        append(String(value))
        bytes.append(0x0A)
    }

    /// Appends raw bytes already in exposition form (a pre-rendered series prefix, say).
    public mutating func appendRaw(_ raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// Renders `name{labels} ` (with the trailing space) so hot loops can render a
    /// series prefix once and reuse it.
    public static func seriesPrefix(_ name: String, labels: [(String, String)]) -> [UInt8] {
        var writer = ExpositionWriter(reservingCapacity: 128)
        writer.writeSeriesName(name, labels.count)
        for (index, (key, value)) in labels.enumerated() {
            writer.writeLabel(key, value, first: index == 0)
        }
        if !labels.isEmpty { writer.append("} ") }
        return writer.bytes
    }

    /// Formats a sample value the way the text format expects.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private mutating func writeSeries(_ name: String, _ labels: KeyValuePairs<String, String>) {
        writeSeriesName(name, labels.count)
        for (index, pair) in labels.enumerated() {
            writeLabel(pair.key, pair.value, first: index == 0)
        }
        if !labels.isEmpty { append("} ") }
    }

    private mutating func writeSeriesName(_ name: String, _ labelCount: Int) {
        append(name)
        bytes.append(labelCount == 0 ? 0x20 : UInt8(ascii: "{"))
    }

    private mutating func writeLabel(_ key: String, _ value: String, first: Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        append(key)
        append("=\"")
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func append(_ string: String) {
        bytes.append(contentsOf: string.utf8)
    }
}
