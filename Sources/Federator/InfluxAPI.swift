import Foundation

/// Which InfluxDB write API to use; `auto` asks the server.
public enum InfluxAPIChoice: String, Sendable, CaseIterable {
    /// Ask `/ping` for the X-Influxdb-Version header.
    case auto
    /// InfluxDB 1.x: POST /write?db=BUCKET.
    case v1
    /// InfluxDB 2.x (and 3.x's compatible endpoint): POST /api/v2/write?org=ORG&bucket=BUCKET.
    case v2
}

/// The InfluxDB write API a server speaks.
public enum InfluxAPIVersion: String, Sendable, Equatable {
    /// 1.x: the bucket is the database name.
    case v1
    /// 2.x or later: org, bucket and token.
    case v2

    /// Reads /ping's X-Influxdb-Version header ("1.8.10", "v2.7.4", "2.7.1"); nil when it
    /// is missing or not a version.
    public static func fromVersionHeader(_ header: String?) -> InfluxAPIVersion? {
        guard var text = header?.trimmingSpaces(), !text.isEmpty else { return nil }
        if text.first == "v" || text.first == "V" { text.removeFirst() }
        guard let major = Int(text.prefix(while: { $0.isASCII && $0.isNumber })) else { return nil }
        return major <= 1 ? .v1 : .v2
    }
}

/// Where and how to write, with everything taken from the flags.
public struct InfluxTarget: Sendable, Equatable {
    /// Base URL, e.g. http://127.0.0.1:8086.
    public var address: String
    /// Bucket (2.x) or database (1.x).
    public var bucket: String
    /// Organisation, 2.x only.
    public var org: String
    /// API token (2.x) or "user:password" (1.x with authentication); empty for none.
    public var token: String

    /// A target as configured.
    public init(address: String, bucket: String, org: String, token: String) {
        self.address = address
        self.bucket = bucket
        self.org = org
        self.token = token
    }

    /// The write URL for `version`, nanosecond precision.
    public func writeURL(_ version: InfluxAPIVersion) -> String {
        let base = address.hasSuffix("/") ? String(address.dropLast()) : address
        switch version {
        case .v1:
            return base + "/write?db=" + percentEncode(bucket) + "&precision=ns"
        case .v2:
            return base + "/api/v2/write?org=" + percentEncode(org) + "&bucket=" + percentEncode(bucket) + "&precision=ns"
        }
    }

    /// The ping URL used to tell the versions apart.
    public var pingURL: String {
        (address.hasSuffix("/") ? String(address.dropLast()) : address) + "/ping"
    }

    /// Authorization header value: both 1.8 and 2.x accept "Token ...".
    public var authorization: String? {
        token.isEmpty ? nil : "Token " + token
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
func percentEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".unicodeScalars)
            out.unicodeScalars.append("%")
            out.unicodeScalars.append(hex[Int(byte >> 4)])
            out.unicodeScalars.append(hex[Int(byte & 0xF)])
        }
    }
    return out
}

/// What InfluxDB refused of a batch it did not answer with 2xx, read from its answer.
public struct InfluxRejection: Sendable, Equatable {
    /// Points of the batch that were not stored.
    public var rejected: Int
    /// InfluxDB's message, on one line.
    public var reason: String

    /// A rejection as given.
    public init(rejected: Int, reason: String) {
        self.rejected = rejected
        self.reason = reason
    }

    /// Reads a non-2xx, non-retryable answer to a batch of `batchPoints` points.
    ///
    /// A 400 "partial write" stored every point but the rejected ones: InfluxDB 1.x counts
    /// those dropped by the storage engine (field type conflicts, retention, limits) as
    /// `dropped=N`, and names each line it could not parse as `unable to parse '...'`, one
    /// per line of the message. Any other answer refused the whole batch.
    public init(status: Int, body: String, batchPoints: Int) {
        let message = Self.message(body)
        reason = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        guard status == 400 || status == 422, message.contains("partial write") else {
            rejected = batchPoints
            return
        }
        var dropped = 0
        if let range = message.range(of: "dropped=", options: .backwards) {
            let digits = message[range.upperBound...].prefix(while: { $0.isASCII && $0.isNumber })
            // More than the batch (or more than an Int holds) is the whole batch, not a trap.
            dropped = digits.isEmpty ? 0 : min(batchPoints, Int(digits) ?? batchPoints)
        }
        // Lines that failed to parse: our lines never hold a raw line feed, so each
        // starts one line of the message.
        let unparsed = message.split(separator: "\n").filter {
            $0.hasPrefix("unable to parse '") || $0.hasPrefix("partial write: unable to parse '")
        }.count
        rejected = min(batchPoints, dropped + min(batchPoints, unparsed))
    }

    /// The message of an InfluxDB error body: `{"error": ...}` (1.x) or `{"message": ...}` (2.x).
    static func message(_ body: String) -> String {
        struct ErrorBody: Decodable {
            var error: String?
            var message: String?
        }
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body.utf8)),
           let text = decoded.error ?? decoded.message {
            return text
        }
        return body
    }
}
