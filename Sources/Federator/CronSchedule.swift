#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cron schedule with a seconds field, as the Go original's cron library reads it:
/// "second minute hour day-of-month month day-of-week" in local time, each field `*`,
/// a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; months and
/// weekdays also by three-letter name. `@yearly`, `@monthly`, `@weekly`, `@daily` and
/// `@hourly` are accepted too.
public struct CronSchedule: Sendable, Equatable {
    // One bit per allowed value.
    let seconds: UInt64
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    let daysOfWeek: UInt64
    // Vixie cron rule: when both day fields are restricted, a day matching either runs.
    let dayOfMonthAny: Bool
    let dayOfWeekAny: Bool

    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses a six-field expression (or a descriptor such as `@hourly`).
    public init(_ expression: String) throws {
        let descriptors = [
            "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
            "@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *",
            "@hourly": "0 0 * * * *",
        ]
        let trimmed = expression.trimmingSpaces()
        let text = descriptors[trimmed.lowercased()] ?? trimmed
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 6 else {
            throw FederatorError.cronSchedule(expression, "has \(fields.count) fields, needs 6")
        }
        func parse(_ index: Int, _ name: String, _ low: Int, _ high: Int, _ names: [String] = [], nameBase: Int = 0) throws -> UInt64 {
            do {
                return try Self.parseField(String(fields[index]), low: low, high: high, names: names, nameBase: nameBase)
            } catch let reason as FederatorError {
                throw FederatorError.cronSchedule(expression, "\(name) field \"\(fields[index])\": \(reason)")
            }
        }
        seconds = try parse(0, "second", 0, 59)
        minutes = try parse(1, "minute", 0, 59)
        hours = try parse(2, "hour", 0, 23)
        daysOfMonth = try parse(3, "day-of-month", 1, 31)
        months = try parse(4, "month", 1, 12, Self.monthNames, nameBase: 1)
        var weekdays = try parse(5, "day-of-week", 0, 7, Self.dayNames)
        // 7 is another name for Sunday.
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        daysOfWeek = weekdays
        dayOfMonthAny = fields[3] == "*" || fields[3] == "?"
        dayOfWeekAny = fields[5] == "*" || fields[5] == "?"
    }

    private static func parseField(_ field: String, low: Int, high: Int, names: [String], nameBase: Int) throws -> UInt64 {
        func value(_ text: Substring) throws -> Int {
            if let number = Int(text) { return number }
            if let index = names.firstIndex(of: text.lowercased()) { return index + nameBase }
            throw FederatorError(description: "\"\(text)\" is not a number")
        }
        var bits: UInt64 = 0
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            var rangeText = part
            var step = 1
            if let slash = part.firstIndex(of: "/") {
                rangeText = part[..<slash]
                guard let parsed = Int(part[part.index(after: slash)...]), parsed > 0 else {
                    throw FederatorError(description: "step must be a positive number")
                }
                step = parsed
            }
            var start = low
            var end = high
            if rangeText == "*" || rangeText == "?" {
                // whole range
            } else if let dash = rangeText.firstIndex(of: "-") {
                start = try value(rangeText[..<dash])
                end = try value(rangeText[rangeText.index(after: dash)...])
            } else {
                start = try value(rangeText)
                // "5/10" means from 5 to the end in steps of 10.
                end = part.contains("/") ? high : start
            }
            guard start >= low, end <= high else { throw FederatorError(description: "values must be within \(low)-\(high)") }
            guard start <= end else { throw FederatorError(description: "range start \(start) is after its end \(end)") }
            for v in stride(from: start, through: end, by: step) { bits |= 1 << UInt64(v) }
        }
        return bits
    }

    /// The first time strictly after `after` (Unix seconds) that the schedule fires, in
    /// local time; nil if none within five years (e.g. "0 0 0 30 2 *").
    public func next(after: Int) -> Int? {
        var t = after + 1
        let limit = after + 5 * 366 * 86_400
        var parts = tm()
        // Each step jumps to the start of the next candidate unit, so the loop is short.
        while t <= limit {
            var clock = time_t(t)
            localtime_r(&clock, &parts)
            if months & (1 << UInt64(parts.tm_mon + 1)) == 0 {
                parts.tm_mon += 1; parts.tm_mday = 1; parts.tm_hour = 0; parts.tm_min = 0; parts.tm_sec = 0
            } else if !dayMatches(parts) {
                parts.tm_mday += 1; parts.tm_hour = 0; parts.tm_min = 0; parts.tm_sec = 0
            } else if hours & (1 << UInt64(parts.tm_hour)) == 0 {
                parts.tm_hour += 1; parts.tm_min = 0; parts.tm_sec = 0
            } else if minutes & (1 << UInt64(parts.tm_min)) == 0 {
                parts.tm_min += 1; parts.tm_sec = 0
            } else if seconds & (1 << UInt64(parts.tm_sec)) == 0 {
                t += 1
                continue
            } else {
                return t
            }
            parts.tm_isdst = -1
            let advanced = Int(mktime(&parts))
            // A daylight-saving jump can map a start-of-unit back in time: always move forward.
            t = advanced > t ? advanced : t + 1
        }
        return nil
    }

    private func dayMatches(_ parts: tm) -> Bool {
        let dom = daysOfMonth & (1 << UInt64(parts.tm_mday)) != 0
        let dow = daysOfWeek & (1 << UInt64(parts.tm_wday)) != 0
        if dayOfMonthAny || dayOfWeekAny { return dom && dow }
        return dom || dow
    }
}

extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\n" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" && $0 != "\n" }) else { return "" }
        return String(scalars[first...last])
    }
}
