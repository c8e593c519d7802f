import ArgumentParser

extension AsyncParsableCommand {
    /// The body of a `static func main()` for a command whose flags follow Go's syntax:
    /// the process's arguments go through ``GoFlags/normalize(_:booleanFlags:subcommands:)``,
    /// then the command is parsed and run; a bad flag or a thrown error exits the way
    /// swift-argument-parser does (a message, the usage, a non-zero status).
    public static func mainWithGoFlags(booleanFlags: Set<String>) async {
        do {
            let arguments = try GoFlags.normalize(Array(CommandLine.arguments.dropFirst()), booleanFlags: booleanFlags)
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as GoFlagError {
            exit(withError: ValidationError(error.description))
        } catch {
            exit(withError: error)
        }
    }
}
