#!/usr/bin/env python3
"""Fails when a module imports a module above it.

The layers below are the module graph: a module may import modules of lower layers
only, never one of its own layer or above. A few modules have a narrower rule, named in
ONLY. Every `import X` of Sources/<Module>/*.swift is checked, so a wrong arrow is
caught where it is written, whatever Package.swift says.
"""
import pathlib
import re
import sys

# Lowest first. Modules of one layer are independent of each other.
LAYERS = [
    ["CPcap", "CLibcap", "CPrefetch", "CSnappy", "CZlib", "CBuildInfo", "Diagnostics", "TestSupport"],
    ["NetAddress", "Ring"],
    ["PacketDecoding", "Exposition", "Inventory", "Sockets"],
    ["Migration", "Traffic", "Capture"],
    ["PlanetMetrics"],
    ["Web"],
    ["Agent"],
    ["CommandLineSupport", "Federator"],
    ["planet-exporter", "planet-federator", "planet-federator-influxdb-to-bq"],
]

# Modules held to a narrower rule than their layer gives.
ONLY = {
    # Conversion only: the families are rendered by PlanetMetrics.
    "Migration": {"NetAddress", "Exposition", "Diagnostics"},
    # Testable with bytes in memory: nothing that links libpcap.
    "PlanetMetrics": {"Exposition", "NetAddress", "PacketDecoding", "Traffic", "Sockets", "Inventory", "Migration", "Diagnostics"},
    "Traffic": {"NetAddress", "PacketDecoding", "Ring", "Diagnostics", "CPrefetch"},
    # The federator and the shared command-line module know nothing of the agent.
    "CommandLineSupport": {"Diagnostics", "CBuildInfo"},
    "Federator": {"CSnappy", "Exposition", "Diagnostics"},
    "planet-federator": {"CommandLineSupport", "Federator", "Diagnostics"},
    "planet-federator-influxdb-to-bq": {"CommandLineSupport", "Federator", "Diagnostics"},
}


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent / "Sources"
    rank = {module: index for index, layer in enumerate(LAYERS) for module in layer}
    problems = []
    modules = sorted(p.name for p in root.iterdir() if p.is_dir())
    for module in modules:
        if module not in rank:
            problems.append(f"Sources/{module}: not in any layer of scripts/check_module_graph.py; add it where it belongs")
            continue
        for source in sorted((root / module).rglob("*.swift")):
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
                match = re.match(r"\s*(?:@testable\s+|@_exported\s+)?import\s+(?:struct\s+|enum\s+|class\s+)?([A-Za-z_][A-Za-z0-9_-]*)", line)
                if not match:
                    continue
                imported = match.group(1)
                if imported not in rank:
                    continue  # a system or package module
                where = f"{source.relative_to(root.parent)}:{number}"
                if rank[imported] >= rank[module]:
                    problems.append(f"{where}: {module} imports {imported}, which is not below it")
                elif module in ONLY and imported not in ONLY[module]:
                    problems.append(f"{where}: {module} may import only {', '.join(sorted(ONLY[module]))}, not {imported}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"module graph: {len(modules)} modules, every import points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
