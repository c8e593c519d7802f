import Diagnostics
import Logging
import Migration
import NetAddress
import ServiceLifecycle

/// Scrapes another exporter's /metrics every task interval and keeps the last good
/// conversion: the darkstat and ebpf_exporter tasks the Go original had, for fleets that
/// move host by host.
public final class ScrapeTask<Value: Sendable>: Service, Sendable {
    /// The last good value and the health of the last attempt.
    public struct State: Sendable {
        public var value: Value?
        public var lastSucceeded = false
        public var errors: UInt64 = 0
        /// Samples the last good conversion left out past its bound.
        public var dropped = 0
        /// When the scrape under way started (nil when none is).
        public var fetchStarted: ContinuousClock.Instant?
    }

    public let name: String
    public let state = Latest(State())
    private let address: String
    /// `address` as logged: its password redacted.
    private let shownAddress: String
    private let interval: Duration
    private let fetcher: HTTPFetcher
    private let logger: Logger
    private let convert: @Sendable ([UInt8], LocalAddresses) throws -> Conversion

    /// What a conversion gives: the value, one line per skipped sample, and the samples
    /// left out past the converter's bound.
    public typealias Conversion = (value: Value, problems: [String], dropped: Int)

    public init(name: String, address: String, interval: Duration, maxBytes: Int = HTTPFetcher.defaultMaxBytes,
                logger: Logger, convert: @escaping @Sendable ([UInt8], LocalAddresses) throws -> Conversion) {
        self.name = name
        self.address = address
        self.shownAddress = redactedURL(address)
        self.interval = interval
        // A scrape that outlives the interval only delays the next one: bound it by the interval.
        self.fetcher = HTTPFetcher(timeout: max(.seconds(1), min(.seconds(10), interval)), maxBytes: maxBytes)
        self.logger = logger
        self.convert = convert
    }

    public func run() async throws {
        try await runPeriodically(every: interval) { await self.refresh() }
    }

    /// One scrape; on failure the previous values stay.
    public func refresh() async {
        state.update { $0.fetchStarted = .now }
        defer { state.update { $0.fetchStarted = nil } }
        do {
            let body = try await fetcher.get(address)
            let local = LocalAddresses(addresses: HostInterfaces.allAddresses())
            let (value, problems, dropped) = try convert(body, local)
            for problem in problems.prefix(5) { logger.warning("\(name) \(shownAddress): \(problem)") }
            if dropped > 0 { logger.warning("\(name) \(shownAddress): \(dropped) samples past the record bound left out") }
            state.update {
                $0.value = value
                $0.lastSucceeded = true
                $0.dropped = dropped
            }
        } catch {
            logger.error("\(name): \(error); keeping the previous values")
            state.update {
                $0.lastSucceeded = false
                $0.errors &+= 1
            }
        }
    }

    /// The last good value (nil before the first), whether the latest scrape succeeded (a
    /// scrape past its deadline has not), and the samples the last good one left out.
    public func reading() -> (records: Value?, succeeded: Bool, dropped: Int) {
        let state = state.get()
        return (state.value, state.lastSucceeded && !fetcher.isOverdue(since: state.fetchStarted), state.dropped)
    }
}

extension ScrapeTask where Value == [TrafficRecord] {
    /// The task scraping darkstat's /metrics at `address`.
    public static func darkstat(address: String, interval: Duration, maxBytes: Int = HTTPFetcher.defaultMaxBytes,
                                logger: Logger) -> ScrapeTask {
        ScrapeTask(name: "darkstat", address: address, interval: interval, maxBytes: maxBytes, logger: logger) { body, local in
            let conversion = try Darkstat.convert(exposition: body, local: local)
            return (conversion.records, conversion.problems.map(\.description), conversion.droppedSamples)
        }
    }
}

extension ScrapeTask where Value == [EbpfRecord] {
    /// The task scraping ebpf_exporter's /metrics at `address`.
    public static func ebpf(address: String, interval: Duration, maxBytes: Int = HTTPFetcher.defaultMaxBytes,
                            logger: Logger) -> ScrapeTask {
        ScrapeTask(name: "ebpf", address: address, interval: interval, maxBytes: maxBytes, logger: logger) { body, local in
            let conversion = try EbpfTcptop.convert(exposition: body, local: local)
            return (conversion.records, conversion.problems.map(\.description), conversion.droppedSamples)
        }
    }
}
