import ArgumentParser

/// A duration written the way Go's `time.ParseDuration` reads it ("7s", "1m30s", "300ms",
/// "1.5h", "1µs", "0"), so flags keep the Go original's syntax; prints back in Go's form.
public struct GoDuration: Hashable, Sendable, CustomStringConvertible {
    /// The length in nanoseconds, as Go's `time.Duration` holds it.
    public let nanoseconds: Int64

    /// The same length as a Swift `Duration`.
    public var duration: Duration { .nanoseconds(nanoseconds) }

    /// A duration of `nanoseconds`.
    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// The Go duration of `duration`, to the nanosecond.
    public init(_ duration: Duration) {
        self.init(nanoseconds: Int64(duration / .nanoseconds(1)))
    }

    /// Parses Go's duration syntax; throws ``FlagError`` naming the bad text.
    public init(parsing text: String) throws {
        nanoseconds = try Self.parse(text)
    }

    /// Go's `Duration.String()`: "0s", "300ms", "1.5µs", "1m30s", "1h0m0s".
    public var description: String {
        if nanoseconds == 0 { return "0s" }
        let sign = nanoseconds < 0 ? "-" : ""
        let magnitude = nanoseconds.magnitude
        if magnitude < 1_000_000_000 {
            // Below a second Go switches to the largest unit that keeps an integer part.
            if magnitude < 1_000 { return sign + "\(magnitude)ns" }
            if magnitude < 1_000_000 { return sign + Self.decimal(magnitude, scale: 1_000) + "µs" }
            return sign + Self.decimal(magnitude, scale: 1_000_000) + "ms"
        }
        let totalSeconds = magnitude / 1_000_000_000
        var text = Self.decimal(magnitude % 60_000_000_000, scale: 1_000_000_000) + "s"
        let totalMinutes = totalSeconds / 60
        if totalMinutes > 0 {
            text = "\(totalMinutes % 60)m" + text
            let hours = totalMinutes / 60
            if hours > 0 { text = "\(hours)h" + text }
        }
        return sign + text
    }

    /// `value / scale` with the fraction's trailing zeros dropped.
    private static func decimal(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        var fraction = value % scale
        guard fraction != 0 else { return "\(whole)" }
        var digits = 0
        var s = scale
        while s > 1 { s /= 10; digits += 1 }
        while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
        let fractionText = String(fraction)
        return "\(whole)." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }

    private static let units: [(String, UInt64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000),
        ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
    ]

    private static func parse(_ text: String) throws -> Int64 {
        var rest = Substring(text)
        var negative = false
        if let first = rest.first, first == "-" || first == "+" {
            negative = first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw FlagError.invalidDuration(text, reason: "empty duration") }
        var total: UInt64 = 0
        while !rest.isEmpty {
            let wholeDigits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            rest = rest.dropFirst(wholeDigits.count)
            var fractionDigits = Substring()
            if rest.first == "." {
                rest = rest.dropFirst()
                fractionDigits = rest.prefix(while: { $0.isASCII && $0.isNumber })
                rest = rest.dropFirst(fractionDigits.count)
            }
            guard !wholeDigits.isEmpty || !fractionDigits.isEmpty else {
                throw FlagError.invalidDuration(text, reason: "expected a number")
            }
            let unitText = rest.prefix(while: { !($0.isASCII && ($0.isNumber || $0 == ".")) })
            rest = rest.dropFirst(unitText.count)
            guard !unitText.isEmpty else {
                throw FlagError.invalidDuration(text, reason: "missing unit (use ns, us, ms, s, m or h)")
            }
            guard let unit = units.first(where: { $0.0 == unitText })?.1 else {
                throw FlagError.invalidDuration(text, reason: "unknown unit \"\(unitText)\" (use ns, us, ms, s, m or h)")
            }
            var part: UInt64 = 0
            for digit in wholeDigits.utf8 {
                let (times10, o1) = part.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times10.addingReportingOverflow(UInt64(digit - 48))
                guard !o1, !o2 else { throw FlagError.invalidDuration(text, reason: "out of range") }
                part = plus
            }
            let (scaled, o3) = part.multipliedReportingOverflow(by: unit)
            guard !o3 else { throw FlagError.invalidDuration(text, reason: "out of range") }
            // Fraction digits past nanosecond precision add nothing, as in Go.
            var fraction: UInt64 = 0
            var scale: UInt64 = 1
            for digit in fractionDigits.utf8 where scale < 1_000_000_000_000_000_000 / 10 {
                fraction = fraction * 10 + UInt64(digit - 48)
                scale *= 10
            }
            // fraction/scale < 1, so the full-width quotient always fits below `unit`.
            let product = fraction.multipliedFullWidth(by: unit)
            let fractionNanos = scale.dividingFullWidth((product.high, product.low)).quotient
            let (sum1, o4) = total.addingReportingOverflow(scaled)
            let (sum2, o5) = sum1.addingReportingOverflow(fractionNanos)
            guard !o4, !o5, sum2 <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                throw FlagError.invalidDuration(text, reason: "out of range")
            }
            total = sum2
        }
        return negative ? Int64(truncatingIfNeeded: 0 &- total) : Int64(total)
    }
}

extension GoDuration: ExpressibleByArgument {
    /// Reads a flag value; swift-argument-parser reports nil as an invalid value for the flag.
    public init?(argument: String) {
        guard let parsed = try? GoDuration(parsing: argument) else { return nil }
        self = parsed
    }

    public var defaultValueDescription: String { description }
}
