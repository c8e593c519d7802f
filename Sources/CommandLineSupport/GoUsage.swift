import ArgumentParser
import Diagnostics
import Foundation

/// One flag as Go's `flag` package lists it in `-h`.
public struct GoFlag: Equatable, Sendable {
    /// The flag's name, without dashes.
    public var name: String
    /// Go's word for the value ("string", "int", "uint", "float", "duration", "value"); empty
    /// for a boolean, which takes no value.
    public var typeName: String
    /// The help line.
    public var usage: String
    /// The default as Go prints it (strings quoted); nil when it is the type's zero value,
    /// which Go leaves out.
    public var defaultText: String?

    public init(name: String, typeName: String, usage: String, defaultText: String?) {
        self.name = name
        self.typeName = typeName
        self.usage = usage
        self.defaultText = defaultText
    }

    /// True for a flag that takes no value.
    public var isBoolean: Bool { typeName.isEmpty }
}

/// `-h` in the shape of Go's `flag.PrintDefaults`, built from a command's swift-argument-parser
/// declarations, so a flag added to a command is listed without further work.
///
/// Names, help lines and defaults come from the parser's own description of the command
/// (`_dumpHelp()`); the value types, which that description leaves out, from the declared
/// property wrappers, which are listed in the same order.
public enum GoUsage {
    /// The flags of `command`, sorted by name as Go lists them; hidden ones are left out.
    public static func flags(of command: any ParsableArguments.Type) -> [GoFlag] {
        var slots: [Slot] = []
        collectSlots(of: command, into: &slots)
        let arguments = describedArguments(of: command)
        var flags: [GoFlag] = []
        var index = 0
        for slot in slots {
            guard index < arguments.count else {
                preconditionFailure("GoUsage: \(command) declares more arguments than its description lists")
            }
            let argument = arguments[index]
            index += 1
            switch slot {
            case .positional:
                precondition(argument.kind == "positional", "GoUsage: \(command): expected a positional argument")
            case .flag:
                precondition(argument.kind == "flag", "GoUsage: \(command): expected a flag, found \(argument.kind)")
                let name = argument.preferredName?.name ?? ""
                // An inverted flag (`inversion: .prefixedNo`) is described twice: -x, then -no-x.
                if index < arguments.count, arguments[index].kind == "flag",
                   arguments[index].preferredName?.name == "no-" + name {
                    index += 1
                }
                let enabled = argument.defaultValue == "true" || argument.defaultValue == "--" + name
                if argument.shouldDisplay {
                    flags.append(GoFlag(name: name, typeName: "", usage: argument.abstract ?? "",
                                        defaultText: enabled ? "true" : nil))
                }
            case .option(let valueType):
                precondition(argument.kind == "option", "GoUsage: \(command): expected an option, found \(argument.kind)")
                let typeName = goTypeName(valueType)
                if argument.shouldDisplay {
                    flags.append(GoFlag(name: argument.preferredName?.name ?? "", typeName: typeName,
                                        usage: argument.abstract ?? "",
                                        defaultText: defaultText(argument.defaultValue, typeName: typeName)))
                }
            }
        }
        return flags.sorted { $0.name < $1.name }
    }

    /// The text Go's default `flag.Usage` prints: "Usage of PROGRAM:", then per flag
    /// "  -name type" and its help line indented by four spaces and a tab (a one-letter flag
    /// keeps its help on the same line), with "(default X)" when the default is not the zero value.
    public static func render(program: String, flags: [GoFlag]) -> String {
        var text = "Usage of \(program):\n"
        for flag in flags {
            var line = "  -" + flag.name
            if !flag.typeName.isEmpty { line += " " + flag.typeName }
            line += line.count <= 4 ? "\t" : "\n    \t"
            line += flag.usage.replacingOccurrences(of: "\n", with: "\n    \t")
            if let defaultText = flag.defaultText { line += " (default \(defaultText))" }
            text += line + "\n"
        }
        return text
    }

    // MARK: The declared property wrappers

    enum Slot {
        case option(Any.Type)
        case flag
        case positional
    }

    /// The parser builds its description from the same stored properties in the same order.
    static func collectSlots(of type: any ParsableArguments.Type, into slots: inout [Slot]) {
        for child in Mirror(reflecting: type.init()).children where child.label != nil {
            switch child.value {
            case let group as any GoDeclaredGroup: collectSlots(of: group.groupType, into: &slots)
            case let option as any GoDeclaredOption: slots.append(.option(option.valueType))
            case is any GoDeclaredFlag: slots.append(.flag)
            case is any GoDeclaredPositional: slots.append(.positional)
            default: continue  // a plain property: the parser describes none
            }
        }
    }

    /// Go's word for a value of `type`, as `flag.UnquoteUsage` picks it.
    static func goTypeName(_ type: Any.Type) -> String {
        if let optional = type as? any GoOptionalValue.Type { return goTypeName(optional.wrappedType) }
        switch type {
        case is String.Type: return "string"
        case is Int.Type, is Int64.Type, is Int32.Type, is Int16.Type, is Int8.Type: return "int"
        case is UInt.Type, is UInt64.Type, is UInt32.Type, is UInt16.Type, is UInt8.Type: return "uint"
        case is Double.Type, is Float.Type: return "float"
        case is GoDuration.Type: return "duration"
        default:
            // An enum read from its name is a string to the operator; a repeatable flag is a
            // `flag.Value` of its own in Go.
            if let raw = type as? any RawRepresentable.Type, rawValueIsString(raw) { return "string" }
            return "value"
        }
    }

    private static func rawValueIsString<T: RawRepresentable>(_: T.Type) -> Bool { T.RawValue.self == String.self }

    /// `text` as Go prints a default, or nil for the type's zero value.
    static func defaultText(_ text: String?, typeName: String) -> String? {
        guard let text, !text.isEmpty else { return nil }
        switch typeName {
        case "string": return quoted(text, limit: nil)
        case "int", "uint": return text == "0" ? nil : text
        case "duration": return text == "0s" ? nil : text
        case "float":
            guard let value = Double(text) else { return text }
            if value == 0 { return nil }
            // Go prints 1000, not 1000.0.
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        default: return text == "[]" ? nil : text
        }
    }

    // MARK: The parser's description

    struct Described: Decodable {
        struct Name: Decodable { var name: String }
        var kind: String
        var shouldDisplay: Bool
        var preferredName: Name?
        var defaultValue: String?
        var abstract: String?
    }

    private struct Dump: Decodable {
        struct Command: Decodable { var arguments: [Described]? }
        var command: Command
    }

    static func describedArguments(of command: any ParsableArguments.Type) -> [Described] {
        do {
            return try JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8)).command.arguments ?? []
        } catch {
            preconditionFailure("GoUsage: cannot read the description of \(command): \(error)")
        }
    }
}

// The property wrappers, told apart by what they declare.
protocol GoDeclaredOption { var valueType: Any.Type { get } }
protocol GoDeclaredFlag {}
protocol GoDeclaredPositional {}
protocol GoDeclaredGroup { var groupType: any ParsableArguments.Type { get } }
protocol GoOptionalValue { static var wrappedType: Any.Type { get } }

extension Option: GoDeclaredOption { var valueType: Any.Type { Value.self } }
extension Flag: GoDeclaredFlag {}
extension Argument: GoDeclaredPositional {}
extension OptionGroup: GoDeclaredGroup { var groupType: any ParsableArguments.Type { Value.self } }
extension Optional: GoOptionalValue { static var wrappedType: Any.Type { Wrapped.self } }
