import Foundation

/// One series of a range query result: its labels and its samples in time order.
public struct PrometheusSeries: Sendable, Equatable {
    /// The series' labels after aggregation.
    public var labels: [String: String]
    /// Samples as (milliseconds since the epoch, value).
    public var samples: [PrometheusSample]

    /// A series with the given labels and samples.
    public init(labels: [String: String], samples: [PrometheusSample]) {
        self.labels = labels
        self.samples = samples
    }
}

/// One evaluated value of a range query.
public struct PrometheusSample: Sendable, Equatable {
    /// Evaluation time in milliseconds since the epoch (Prometheus's resolution).
    public var timestampMilliseconds: Int64
    /// The value; NaN and infinities are kept here and dropped when mapping to points.
    public var value: Double

    /// A sample at `timestampMilliseconds` with `value`.
    public init(timestampMilliseconds: Int64, value: Double) {
        self.timestampMilliseconds = timestampMilliseconds
        self.value = value
    }
}

/// A Prometheus HTTP API answer that is not a usable range query result.
public struct PrometheusAPIError: Error, Equatable, CustomStringConvertible {
    /// What went wrong, for the log.
    public let message: String

    public var description: String { message }
}

/// Decodes `/api/v1/query_range` responses.
public enum PrometheusMatrix {
    private struct Envelope: Decodable {
        var status: String
        var data: Body?
        var errorType: String?
        var error: String?
    }

    private struct Body: Decodable {
        var resultType: String
        var result: [Series]
    }

    private struct Series: Decodable {
        var metric: [String: String]
        var values: [Sample]?
    }

    private struct Sample: Decodable {
        var time: Double
        var value: String

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            time = try container.decode(Double.self)
            value = try container.decode(String.self)
        }
    }

    /// Parses a response body; throws ``PrometheusAPIError`` for an error status, a result
    /// that is not a matrix, or a body that is not the API's JSON.
    public static func parse(_ body: Data) throws -> [PrometheusSeries] {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: body)
        } catch {
            let start = String(decoding: body.prefix(120), as: UTF8.self)
            throw PrometheusAPIError(message: "response is not Prometheus API JSON: \(start)")
        }
        guard envelope.status == "success" else {
            throw PrometheusAPIError(message: "query failed: \(envelope.errorType ?? "error"): \(envelope.error ?? "no detail")")
        }
        guard let data = envelope.data, data.resultType == "matrix" else {
            throw PrometheusAPIError(message: "expected a matrix result, got \(envelope.data?.resultType ?? "no data")")
        }
        return try data.result.map { series in
            try PrometheusSeries(labels: series.metric, samples: (series.values ?? []).map { sample in
                guard let value = Double(sample.value) else {
                    throw PrometheusAPIError(message: "sample value \"\(sample.value)\" is not a number")
                }
                return PrometheusSample(timestampMilliseconds: Int64((sample.time * 1000).rounded()), value: value)
            })
        }
    }
}
