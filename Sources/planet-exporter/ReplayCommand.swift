import ArgumentParser
import Capture
import Exporter
import Foundation
import NetAddress
import Traffic

/// `planet-exporter replay FILE...`: counts capture files and prints the metrics.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Count pcap/pcapng files like the live agent would and print the metrics exposition.")

    @Argument(help: "Capture files (pcap or pcapng), counted in order.")
    var files: [String]

    @Option(name: .customLong("local-net"), help: ArgumentHelp("A local network in CIDR notation (repeatable). Default: this machine's addresses.", valueName: "CIDR"))
    var localNets: [String] = []

    @Option(name: .customLong("max-series"), help: "Most traffic series kept; the least recently active are evicted past it.")
    var maxSeries: Int = AgentDefaults.maxSeries

    mutating func run() throws {
        var networks: [IPNetwork] = []
        for text in localNets {
            guard let network = IPNetwork(text) else {
                throw ValidationError("--local-net \(text): not a CIDR network (e.g. 10.0.0.0/24 or 2001:db8::/64)")
            }
            networks.append(network)
        }
        let local = networks.isEmpty
            ? LocalAddresses(addresses: HostInterfaces.allAddresses())
            : LocalAddresses(networks: networks)
        let result = Replay.run(files: files, localAddresses: local, maxSeries: maxSeries,
                                ephemeralPorts: AgentDefaults.ephemeralPorts())
        FileHandle.standardOutput.write(Data(result.exposition))
        for line in result.errors {
            FileHandle.standardError.write(Data("planet-exporter replay: \(line)\n".utf8))
        }
        if !result.errors.isEmpty { throw ExitCode(1) }
    }
}
