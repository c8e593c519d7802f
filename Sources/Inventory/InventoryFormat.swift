/// The body formats `-task-inventory-format` accepts, named as the Go original names them.
public enum InventoryFormat: String, CaseIterable, Sendable {
    /// One JSON array of host objects: `[{...}, {...}]`.
    case arrayjson
    /// One host object per line (newline-delimited JSON).
    case ndjson

    /// The format named by a `-task-inventory-format` value; an unknown name throws an
    /// error naming the accepted values, so the agent can refuse to start.
    public init(flagValue: String) throws(InventoryFormatError) {
        guard let format = InventoryFormat(rawValue: flagValue) else {
            throw InventoryFormatError(value: flagValue)
        }
        self = format
    }
}

/// An unknown `-task-inventory-format` value.
public struct InventoryFormatError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The value that was given.
    public let value: String

    /// One line naming the bad value and the accepted ones.
    public var description: String {
        let accepted = InventoryFormat.allCases.map(\.rawValue).joined(separator: ", ")
        return "unknown inventory format \"\(value)\" for -task-inventory-format; accepted values: \(accepted)"
    }
}
