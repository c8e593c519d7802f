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
        // `planet-exporter -h` shows the agent's flags, as the Go original's did.
        await PlanetExporter.mainWithGoFlags(booleanFlags: AgentCommand.booleanFlags,
                                             subcommands: ["agent", "replay", "help"], helpSubcommand: "agent")
    }
}
