import ArgumentParser
import CommandLineSupport

/// `planet-exporter [flags]` runs the agent; `planet-exporter replay FILE...` counts files.
struct PlanetExporter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planet-exporter",
        abstract: "Know your network dependencies, and the bytes that flow over them.",
        subcommands: [AgentCommand.self, ReplayCommand.self],
        defaultSubcommand: AgentCommand.self)
}

@main
enum Main {
    static func main() async {
        do {
            // Go-style flags (-x, -x=false, one dash) are rewritten for the argument parser.
            let arguments = try GoFlags.normalize(Array(CommandLine.arguments.dropFirst()),
                                                  booleanFlags: AgentCommand.booleanFlags,
                                                  subcommands: ["agent", "replay", "help"])
            // `planet-exporter -h` shows the agent's flags, as the Go original's did.
            var command = try PlanetExporter.parseAsRoot(arguments.first == "--help" ? ["agent"] + arguments : arguments)
            if let agent = command as? AgentCommand, !agent.version {
                // Capabilities and no_new_privs belong to a thread and are inherited by the
                // threads it starts: privileges are dropped here, before the first await,
                // while the main thread is the only one.
                let prepared = try agent.prepare()
                try await agent.run(prepared)
            } else if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            PlanetExporter.exit(withError: error)
        }
    }
}
