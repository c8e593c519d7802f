import Agent
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
        let command = PlanetExporter.parseWithGoFlags(flagCommand: AgentCommand.self, subcommands: ["agent", "replay", "help"])
        if let agent = command as? AgentCommand, !agent.version {
            // Capabilities and no_new_privs belong to a thread and are inherited by the
            // threads it starts: privileges are dropped here, before the first await,
            // while the main thread is the only one.
            let prepared: AgentRuntime.Prepared
            do {
                prepared = try agent.prepare()
            } catch {
                PlanetExporter.exit(withError: error)
            }
            do {
                try await agent.run(prepared)
            } catch {
                PlanetExporter.exit(withError: error)
            }
        } else {
            await PlanetExporter.runParsed(command)
        }
    }
}
