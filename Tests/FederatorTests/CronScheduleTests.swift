import Foundation
import Testing
@testable import Federator

@Suite struct CronScheduleTests {
    /// Unix seconds of a UTC wall time; tests run with TZ=UTC set below.
    static func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Int {
        // Days from civil (Howard Hinnant's algorithm), so the expectations do not use the code under test.
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s
    }

    init() { setenv("TZ", "UTC", 1); tzset() }

    @Test(arguments: [
        ("*/30 * * * * *", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 0, 30)),
        ("*/30 * * * * *", utc(2024, 1, 1, 0, 0, 29), utc(2024, 1, 1, 0, 0, 30)),
        ("*/30 * * * * *", utc(2024, 1, 1, 0, 0, 59), utc(2024, 1, 1, 0, 1, 0)),
        ("*/5 * * * * *", utc(2024, 1, 1, 0, 0, 3), utc(2024, 1, 1, 0, 0, 5)),
        ("0 * * * * *", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 0, 1, 0)),
        ("0 0 * * * *", utc(2024, 1, 1, 0, 30, 0), utc(2024, 1, 1, 1, 0, 0)),
        ("15 10 3 * * *", utc(2024, 1, 1, 4, 0, 0), utc(2024, 1, 2, 3, 10, 15)),
        ("0 0 0 29 2 *", utc(2023, 3, 1), utc(2024, 2, 29)),
        ("0 0 0 1 jan *", utc(2024, 6, 1), utc(2025, 1, 1)),
        ("0 0 12 * * mon", utc(2024, 1, 1, 13), utc(2024, 1, 8, 12)),
        ("0 0 12 * * 7", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
        ("0 0 0 13 * fri", utc(2024, 1, 1), utc(2024, 1, 5)),
        ("10-20/5 * * * * *", utc(2024, 1, 1, 0, 0, 16), utc(2024, 1, 1, 0, 0, 20)),
        ("5/20 * * * * *", utc(2024, 1, 1, 0, 0, 26), utc(2024, 1, 1, 0, 0, 45)),
        ("1,2,58 * * * * *", utc(2024, 1, 1, 0, 0, 3), utc(2024, 1, 1, 0, 0, 58)),
        ("@hourly", utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1, 0, 0, 0)),
        ("@daily", utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 2)),
    ])
    func nextFireTime(expression: String, after: Int, expected: Int) throws {
        #expect(try CronSchedule(expression).next(after: after) == expected)
    }

    @Test func impossibleDateNeverFires() throws {
        #expect(try CronSchedule("0 0 0 30 2 *").next(after: Self.utc(2024, 1, 1)) == nil)
    }

    @Test(arguments: [
        "* * * * *", "", "*/0 * * * * *", "60 * * * * *", "* * 24 * * *", "* * * 0 * *",
        "* * * * 13 *", "* * * * * 8", "a * * * * *", "5-1 * * * * *", "* * * * foo *", "1,,2 * * * * *",
    ])
    func rejects(expression: String) {
        #expect(throws: FederatorError.self) { try CronSchedule(expression) }
    }

    @Test func errorNamesField() {
        do {
            _ = try CronSchedule("61 * * * * *")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("second field \"61\""))
        }
    }
}

@Suite struct SchedulePeriodTests {
    @Test(arguments: [
        ("*/30 * * * * *", 1_000_000_012, 30),
        ("*/30 * * * * *", 1_000_000_020, 30),
        ("*/2 * * * * *", 1_000_000_001, 2),
        ("0 * * * * *", 1_000_000_001, 60),
    ])
    func periodBetweenFireTimes(expression: String, time: Int, period: Int) throws {
        #expect(FederatorService.period(of: try CronSchedule(expression), near: time) == period)
    }
}
