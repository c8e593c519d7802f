import Diagnostics
import NetAddress

/// A request's query parameters that the API refused, with the one line saying why.
struct QueryError: Error, Equatable {
    let message: String
}

/// The parameters of GET /api/v1/peers: sort, order, paging and filter.
struct PeersQuery: Equatable {
    /// What the peers are ordered by.
    enum Sort: String, CaseIterable {
        case bytes, `in`, out, rate, lastSeen = "last_seen", ip, hostgroup

        /// Biggest, newest first for figures; alphabetical for names.
        var defaultOrder: Order { self == .ip || self == .hostgroup ? .asc : .desc }
    }

    enum Order: String, CaseIterable {
        case asc, desc
    }

    var sort = Sort.bytes
    var order = Order.desc
    var limit = 100
    var offset = 0
    /// The filter as given, trimmed ("" matches every peer).
    var filter = ""

    static let maxLimit = 1000
    static let maxFilterLength = 200
    static let parameters = ["sort", "order", "limit", "offset", "q"]

    /// Parses the query parameters; a name or value it does not know is an error.
    static func parse(_ parameters: [(key: String, value: String)]) -> Result<PeersQuery, QueryError> {
        var query = PeersQuery()
        var order: Order? = nil
        var seen = Set<String>()
        for (key, value) in parameters {
            guard Self.parameters.contains(key) else {
                return .failure(QueryError(message: "unknown parameter \(quoted(key)); known: \(Self.parameters.joined(separator: ", "))"))
            }
            guard seen.insert(key).inserted else {
                return .failure(QueryError(message: "parameter \(key) given more than once"))
            }
            switch key {
            case "sort":
                guard let sort = Sort(rawValue: value) else {
                    return .failure(QueryError(message: "sort \(quoted(value)): expected one of \(Sort.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
                query.sort = sort
            case "order":
                guard let parsed = Order(rawValue: value) else {
                    return .failure(QueryError(message: "order \(quoted(value)): expected asc or desc"))
                }
                order = parsed
            case "limit":
                guard let limit = Int(value), (1...maxLimit).contains(limit) else {
                    return .failure(QueryError(message: "limit \(quoted(value)): expected a whole number from 1 to \(maxLimit)"))
                }
                query.limit = limit
            case "offset":
                guard let offset = Int(value), offset >= 0 else {
                    return .failure(QueryError(message: "offset \(quoted(value)): expected a whole number, 0 or more"))
                }
                query.offset = offset
            default:
                let filter = value.trimmingWhitespace()
                guard filter.count <= maxFilterLength else {
                    return .failure(QueryError(message: "q is \(filter.count) characters long; at most \(maxFilterLength)"))
                }
                query.filter = filter
            }
        }
        query.order = order ?? query.sort.defaultOrder
        return .success(query)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

/// What a peer filter (`q`) matches: a CIDR network contains the peer; any other text
/// matches the start of the peer's address, or part of its hostgroup, domain or one of
/// its processes or their units, or one of its ports ("443" or "443/tcp"), ignoring case.
struct PeerFilter {
    let network: IPNetwork?
    let text: String
    /// Whether the text could be the start of an address, so addresses are worth writing out.
    let mayBeAddress: Bool

    init(_ filter: String) {
        network = filter.contains("/") ? IPNetwork(filter) : nil
        text = filter.lowercased()
        mayBeAddress = !text.isEmpty && text.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
    }

    var matchesEverything: Bool { text.isEmpty }

    func matches(label: String) -> Bool {
        !label.isEmpty && label.lowercased().contains(text)
    }
}
