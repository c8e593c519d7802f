import ArgumentParser

@main
struct PlanetExporter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "planet-exporter",
        abstract: "Know your network dependencies, and the bytes that flow over them.",
        subcommands: [ReplayCommand.self])
}
