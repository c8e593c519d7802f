/// The three data sets the federator copies, each one PromQL query and one InfluxDB schema.
public enum DataSet: String, Sendable, CaseIterable {
    /// Bandwidth in bits/s per direction and pair of services (measurements ingress, egress).
    case traffic
    /// Services this service calls (measurement upstream).
    case upstream
    /// Services calling this service (measurement downstream).
    case downstream
}

/// What the queries leave out and how they smooth the raw series.
public struct QueryOptions: Sendable, Equatable {
    /// Service ports whose series are not federated (e.g. the exporter's own scrape port).
    public var excludedPorts: [String]
    /// Remote addresses (IPs, or the names the inventory gave them) that are not federated.
    public var excludedRemoteAddresses: [String]
    /// Regular expressions over the service port (`port!~`); each must be valid for
    /// ``ExclusionPattern/validate(_:flag:)``. PromQL anchors them at both ends.
    public var excludedPortPatterns: [String]
    /// Regular expressions over the remote address, matched as the Go original matched its
    /// own: traffic by `remote_ip` and `remote_domain`, dependencies by `remote_address`.
    public var excludedRemoteAddressPatterns: [String]
    /// Leave out series without hostgroups, as the Go original did: traffic needs
    /// `local_hostgroup` and `remote_hostgroup`, dependencies `local_hostgroup`.
    public var requireHostgroups: Bool
    /// A named set of matchers added to those above.
    public var exclusions: ExclusionPreset
    /// Traffic below this many bits/s is noise and is not written.
    public var noiseFloorBitsPerSecond: Double
    /// Range of the irate() window, in seconds; needs at least two scrapes inside it.
    public var rateWindowSeconds: Int

    /// Options as given; the defaults exclude nothing.
    public init(
        excludedPorts: [String] = [], excludedRemoteAddresses: [String] = [],
        excludedPortPatterns: [String] = [], excludedRemoteAddressPatterns: [String] = [],
        requireHostgroups: Bool = false, exclusions: ExclusionPreset = .none,
        noiseFloorBitsPerSecond: Double = 1000, rateWindowSeconds: Int = 60
    ) {
        self.excludedPorts = excludedPorts
        self.excludedRemoteAddresses = excludedRemoteAddresses
        self.excludedPortPatterns = excludedPortPatterns
        self.excludedRemoteAddressPatterns = excludedRemoteAddressPatterns
        self.requireHostgroups = requireHostgroups
        self.exclusions = exclusions
        self.noiseFloorBitsPerSecond = noiseFloorBitsPerSecond
        self.rateWindowSeconds = rateWindowSeconds
    }
}

/// A named set of exclusions, chosen with `-exclusions`.
public enum ExclusionPreset: String, Sendable, CaseIterable {
    /// Nothing beyond the other options.
    case none
    /// The Go original's matchers, as its queries wrote them: for traffic its address
    /// patterns and both hostgroups required (no port matcher: its traffic had no port);
    /// for dependencies its ports and address patterns, a local hostgroup, a process name,
    /// and a remote address that is a name (not `localhost`, not starting with a digit).
    case go

    /// The ports the Go original left out of its dependency queries.
    public static let goPortPattern = "(22|53|111|8301|8300|8500|3025|3022|51666|9100|19100|5666|25|8600|11910|11560)"
    /// The address patterns the Go original left out (unescaped dots match any character there too).
    public static let goRemoteAddressPattern = "(100.([6-9]|1[0-2]).*|52.*|192.168.*|.*prometheus.*|203.*|163.18.*|130.211.*|f.*|169.254.*|111.*)"
}

/// PromQL for each data set, built from ``QueryOptions``.
public enum FederationQueries {
    /// Labels kept by the traffic aggregation: the peer's IP (and the scraping job's
    /// labels) are summed away, which is what makes the federated data cheap to query.
    public static let trafficLabels = ["direction", "local_hostgroup", "local_domain", "remote_hostgroup", "remote_domain"]
    /// Labels kept by the dependency aggregation. `process_unit` is empty (and so not
    /// written) for agents that do not export it.
    public static let dependencyLabels = ["local_hostgroup", "local_address", "remote_hostgroup", "remote_address", "port", "protocol",
                                          "process_name", "process_unit"]

    /// The query for `dataSet`; `stepSeconds` is the spacing of evaluations, so that a
    /// dependency seen at any scrape between two evaluations is kept.
    public static func query(_ dataSet: DataSet, options: QueryOptions, stepSeconds: Int) -> String {
        switch dataSet {
        case .traffic:
            let parts = matchers(options, addressLabels: ["remote_ip", "remote_domain"],
                                 hostgroupLabels: ["local_hostgroup", "remote_hostgroup"]) + presetMatchers(options.exclusions, dataSet)
            let selector = "planet_traffic_bytes_total" + braces(parts)
            return "sum by (\(trafficLabels.joined(separator: ", "))) (irate(\(selector)[\(options.rateWindowSeconds)s])) * 8 > "
                + LineProtocol.formatFloat(options.noiseFloorBitsPerSecond)
        case .upstream, .downstream:
            let parts = matchers(options, addressLabels: ["remote_address"], hostgroupLabels: ["local_hostgroup"])
                + presetMatchers(options.exclusions, dataSet)
            let selector = "planet_\(dataSet.rawValue)" + braces(parts)
            return "max by (\(dependencyLabels.joined(separator: ", "))) (max_over_time(\(selector)[\(max(1, stepSeconds))s]))"
        }
    }

    /// The matchers of `options`; the literal address list matches the first address
    /// label only, as it always has, the patterns every one of `addressLabels`.
    private static func matchers(_ options: QueryOptions, addressLabels: [String], hostgroupLabels: [String]) -> [String] {
        var parts: [String] = []
        if !options.excludedPorts.isEmpty {
            parts.append("port!~" + quote(options.excludedPorts.map(escapeRegex).joined(separator: "|")))
        }
        if !options.excludedRemoteAddresses.isEmpty {
            parts.append(addressLabels[0] + "!~" + quote(options.excludedRemoteAddresses.map(escapeRegex).joined(separator: "|")))
        }
        for pattern in options.excludedPortPatterns {
            parts.append("port!~" + quote(pattern))
        }
        for pattern in options.excludedRemoteAddressPatterns {
            for label in addressLabels { parts.append(label + "!~" + quote(pattern)) }
        }
        if options.requireHostgroups {
            for label in hostgroupLabels { parts.append(label + "!=\"\"") }
        }
        return parts
    }

    /// The matchers of `preset`, in the order the Go original wrote them.
    private static func presetMatchers(_ preset: ExclusionPreset, _ dataSet: DataSet) -> [String] {
        let required = #"!="""#
        let addresses = quote(ExclusionPreset.goRemoteAddressPattern)
        switch (preset, dataSet) {
        case (.none, _):
            return []
        case (.go, .traffic):
            return ["local_hostgroup" + required, "remote_ip!~" + addresses, "remote_domain!~" + addresses,
                    "remote_hostgroup" + required]
        case (.go, .upstream), (.go, .downstream):
            return ["local_hostgroup" + required, "port!~" + quote(ExclusionPreset.goPortPattern),
                    "remote_address!~" + addresses, #"remote_address!="localhost""#, "process_name" + required,
                    "remote_address!~" + quote(#"\d.*"#)]
        }
    }

    /// A selector's label matchers in braces, each once (a preset may repeat a flag's);
    /// nothing when there are none.
    private static func braces(_ parts: [String]) -> String {
        var seen = Set<String>()
        let unique = parts.filter { seen.insert($0).inserted }
        return unique.isEmpty ? "" : "{" + unique.joined(separator: ", ") + "}"
    }

    /// Exclusions are literal values, so regex metacharacters (the dots of an address) are escaped.
    static func escapeRegex(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\.+*?()|[]{}^$".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// A PromQL double-quoted string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

/// Turns query results into InfluxDB points with the Go original's measurement, tag and field names.
public enum PointMapping {
    /// Prometheus label -> InfluxDB tag, per data set (see docs/federator.md).
    public static func tagNames(_ dataSet: DataSet) -> [(label: String, tag: String)] {
        switch dataSet {
        case .traffic:
            return [("local_hostgroup", "service"), ("local_domain", "address"),
                    ("remote_hostgroup", "remote_service"), ("remote_domain", "remote_address")]
        case .upstream:
            return [("local_hostgroup", "service"), ("local_address", "address"),
                    ("remote_hostgroup", "upstream_service"), ("remote_address", "upstream_address"),
                    ("port", "upstream_port"), ("process_name", "process_name"), ("process_unit", "process_unit"),
                    ("protocol", "protocol")]
        case .downstream:
            return [("local_hostgroup", "service"), ("local_address", "address"),
                    ("remote_hostgroup", "downstream_service"), ("remote_address", "downstream_address"),
                    ("port", "port"), ("process_name", "process_name"), ("process_unit", "process_unit"),
                    ("protocol", "protocol")]
        }
    }

    /// The field each data set's value is written to.
    public static func fieldName(_ dataSet: DataSet) -> String {
        dataSet == .traffic ? "bandwidth_bps" : "service_dependency"
    }

    /// One point per finite sample. Traffic goes to the measurement named by its direction
    /// (series with another direction are skipped); empty label values are left out, since
    /// line protocol has no empty tag values.
    public static func points(_ dataSet: DataSet, series: [PrometheusSeries]) -> [Point] {
        let names = tagNames(dataSet)
        let field = fieldName(dataSet)
        var points: [Point] = []
        for one in series {
            let measurement: String
            switch dataSet {
            case .traffic:
                guard let direction = one.labels["direction"], direction == "ingress" || direction == "egress" else { continue }
                measurement = direction
            case .upstream, .downstream:
                measurement = dataSet.rawValue
            }
            var tags: [(key: String, value: String)] = []
            for (label, tag) in names {
                if let value = one.labels[label], !value.isEmpty { tags.append((tag, value)) }
            }
            tags.sort { $0.key < $1.key }
            for sample in one.samples where sample.value.isFinite {
                guard let nanoseconds = sample.timestampNanoseconds else { continue }
                points.append(Point(
                    measurement: measurement, tags: tags, field: field, value: sample.value,
                    timestampNanoseconds: nanoseconds
                ))
            }
        }
        return points
    }
}
