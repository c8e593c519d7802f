import ArgumentParser

extension AsyncParsableCommand {
    /// The body of a `static func main()` for a command whose flags follow Go's syntax:
    /// the process's arguments go through ``GoFlags/normalize(_:booleanFlags:subcommands:)``,
    /// then the command is parsed and run; a bad flag or a thrown error exits the way
    /// swift-argument-parser does (a message, the usage, a non-zero status). `-h` prints
    /// the flags as Go's flag package does (see ``GoUsage``) and exits 0.
    public static func mainWithGoFlags() async {
        await runParsed(parseWithGoFlags())
    }

    /// The first half of ``mainWithGoFlags()``: parses without suspending, so a `main` can
    /// act on the command while it still has a single thread; exits on a bad flag.
    ///
    /// The flags are those of `flagCommand` (this command by default; the default
    /// subcommand of a command that has subcommands, as the Go original had only its
    /// flags). Arguments starting with one of `subcommands` go to the parser unchanged.
    public static func parseWithGoFlags(flagCommand: (any ParsableArguments.Type)? = nil,
                                        subcommands: Set<String> = []) -> any ParsableCommand {
        let flags = GoUsage.flags(of: flagCommand ?? Self.self)
        do {
            let arguments = try GoFlags.normalize(Array(CommandLine.arguments.dropFirst()),
                                                  booleanFlags: Set(flags.filter(\.isBoolean).map(\.name)),
                                                  subcommands: subcommands)
            if !(arguments.first.map(subcommands.contains) ?? false) {
                if GoFlags.asksForHelp(arguments) {
                    print(GoUsage.render(program: configuration.commandName ?? _commandName, flags: flags), terminator: "")
                    Self.exit()
                }
                try GoFlags.checkDurations(arguments, durationFlags: Set(flags.filter { $0.typeName == "duration" }.map(\.name)))
            }
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
