import Agent
import ArgumentParser
import Diagnostics
import Foundation
import Inventory
import PlanetMetrics
import NetAddress

/// `planet-exporter replay FILE...`: counts capture files and prints the metrics.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Count pcap/pcapng files like the live agent would and print the metrics exposition.")

    @Argument(help: "Capture files (pcap or pcapng), counted in order.")
    var files: [String]

    @Option(name: .customLong("local-net"), help: ArgumentHelp("A local network in CIDR notation (repeatable). Default: this machine's addresses.", valueName: "CIDR"))
    var localNets: [String] = []

    @Option(name: .customLong("inventory"), help: ArgumentHelp("An inventory file for hostgroup and domain labels.", valueName: "FILE"))
    var inventory: String?

    @Option(name: .customLong("inventory-format"), help: "Format of the inventory file: arrayjson or ndjson.")
    var inventoryFormat = "arrayjson"

    @Option(name: .customLong("max-series"), help: "Most traffic series kept; the least recently active are evicted past it.")
    var maxSeries: Int = AgentDefaults.maxSeries

    @Option(name: .customLong("max-dns-names"), help: "Most peer addresses named from the DNS answers in the files; 0 turns DNS decoding off.")
    var maxDNSNames: Int = AgentDefaults.maxDNSNames

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
        var enrichment = Enrichment.none
        if let inventory {
            let loaded = try Self.loadInventory(path: inventory, format: inventoryFormat)
            enrichment = Replay.enrichment(inventory: loaded, localNetworks: networks, hostAddress: HostIdentity.primaryAddress())
        }
        // Written as it is rendered, straight from the rendered bytes.
        let errors = Replay.run(files: files, localAddresses: local, maxSeries: maxSeries, maxDNSNames: max(0, maxDNSNames),
                                ephemeralPorts: EphemeralPortRange.read(), enrichment: enrichment) { part in
            // A closed stdout (`| head`) ends the output; the exit status still tells errors.
            part.withUnsafeBytes { raw in _ = try? writeAll(STDOUT_FILENO, raw) }
        }
        for line in errors {
            FileHandle.standardError.write(Data("planet-exporter replay: \(line)\n".utf8))
        }
        if !errors.isEmpty { throw ExitCode(1) }
    }

    /// Reads an inventory file; bad entries are reported and skipped, an unusable file stops the replay.
    static func loadInventory(path: String, format text: String) throws -> Inventory {
        let format: InventoryFormat
        do { format = try InventoryFormat(flagValue: text) } catch { throw ValidationError("--inventory-format: \(error)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--inventory \(path): cannot read the file")
        }
        do {
            let parsed = try InventoryParser.parse(data, format: format)
            for problem in parsed.problems {
                FileHandle.standardError.write(Data("planet-exporter replay: \(path): \(problem)\n".utf8))
            }
            return Inventory(entries: parsed.entries)
        } catch {
            throw ValidationError("--inventory \(path): \(error)")
        }
    }
}
