import ArgumentParser

extension AsyncParsableCommand {
    /// The body of a `static func main()` for a command whose flags follow Go's syntax:
    /// the process's arguments go through ``GoFlags/normalize(_:booleanFlags:subcommands:)``,
    /// then the command is parsed and run; a bad flag or a thrown error exits the way
    /// swift-argument-parser does (a message, the usage, a non-zero status). With
    /// `helpSubcommand`, a bare `-h` shows that subcommand's flags (the default one's, as
    /// the Go original showed its flags).
    public static func mainWithGoFlags(booleanFlags: Set<String>, subcommands: Set<String> = [],
                                       helpSubcommand: String? = nil) async {
        await runParsed(parseWithGoFlags(booleanFlags: booleanFlags, subcommands: subcommands,
                                         helpSubcommand: helpSubcommand))
    }

    /// The first half of ``mainWithGoFlags(booleanFlags:subcommands:helpSubcommand:)``:
    /// parses without suspending, so a `main` can act on the command while it still has a
    /// single thread; exits on a bad flag.
    public static func parseWithGoFlags(booleanFlags: Set<String>, subcommands: Set<String> = [],
                                        helpSubcommand: String? = nil) -> any ParsableCommand {
        do {
            var arguments = try GoFlags.normalize(Array(CommandLine.arguments.dropFirst()), booleanFlags: booleanFlags,
                                                  subcommands: subcommands)
            if let helpSubcommand, arguments.first == "--help" { arguments.insert(helpSubcommand, at: 0) }
            return try parseAsRoot(arguments)
        } catch let error as FlagError {
            exit(withError: ValidationError(error.description))
        } catch {
            exit(withError: error)
        }
    }

    /// The second half: runs a parsed command; a thrown error exits as the parser would.
    public static func runParsed(_ command: any ParsableCommand) async {
        do {
            var command = command
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
