#!/usr/bin/env python3
"""Fails when a module imports a module above it, or when its imports and Package.swift
disagree.

The layers below are the module graph: a module may import modules of lower layers
only, never one of its own layer or above. A few modules have a narrower rule, named in
ONLY. Every import of Sources/<Module>/*.swift and Tests/<Target>/*.swift is checked
(`import`, `public import`, `@preconcurrency import`, `@testable import`, ...), so a wrong
arrow is caught where it is written. Then each target's imports are compared with its
dependencies in Package.swift: a project module imported but not declared (it builds only
through another target's dependency), or declared and never imported, is reported; so is a
package product whose module name is its product name.
"""
import pathlib
import re
import sys

# Lowest first. Modules of one layer are independent of each other.
LAYERS = [
    ["CPcap", "CLibcap", "CPrefetch", "CSnappy", "CZlib", "CBuildInfo", "Diagnostics", "TestSupport"],
    ["NetAddress", "Ring"],
    ["PacketDecoding", "Exposition", "Inventory", "Sockets"],
    ["Migration", "Traffic", "Capture", "Listener"],
    ["PlanetMetrics"],
    ["Web"],
    ["Agent"],
    ["CommandLineSupport", "Federator"],
    ["WebFlags"],
    ["planet-exporter", "planet-federator", "planet-federator-influxdb-to-bq"],
]

# Modules held to a narrower rule than their layer gives.
ONLY = {
    # Conversion only: the families are rendered by PlanetMetrics.
    "Migration": {"NetAddress", "Exposition", "Diagnostics"},
    # Testable with bytes in memory: nothing that links libpcap.
    "PlanetMetrics": {"Exposition", "NetAddress", "PacketDecoding", "Traffic", "Sockets", "Inventory", "Migration", "Diagnostics",
                      "Listener"},
    # The HTTP listener the agent and the federator share: nothing of the agent.
    "Listener": {"Diagnostics", "NetAddress", "Exposition"},
    "Traffic": {"NetAddress", "PacketDecoding", "Ring", "Diagnostics", "CPrefetch"},
    # The federator and the shared command-line module know nothing of the agent.
    "CommandLineSupport": {"Diagnostics", "CBuildInfo"},
    "WebFlags": {"CommandLineSupport", "Listener"},
    "Federator": {"CSnappy", "Exposition", "Diagnostics"},
    "planet-federator": {"CommandLineSupport", "WebFlags", "Federator", "Diagnostics", "Listener", "Exposition"},
    "planet-federator-influxdb-to-bq": {"CommandLineSupport", "Federator", "Diagnostics"},
}


# Any attributes and access level before `import`, and a kind after it.
IMPORT = re.compile(r"\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
                    r"import\s+(?:typealias\s+|struct\s+|class\s+|enum\s+|protocol\s+|let\s+|var\s+|func\s+)?"
                    r"([A-Za-z_][A-Za-z0-9_-]*)")

# Modules of the toolchain, imported without a package dependency.
TOOLCHAIN = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Musl", "Darwin", "Dispatch",
             "Synchronization", "Testing", "XCTest", "_Concurrency", "os", "SwiftShims"}


def imports(folder: pathlib.Path):
    """(module, file, line) for every import under folder."""
    for source in sorted(folder.rglob("*.swift")):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            match = IMPORT.match(line)
            if match:
                yield match.group(1), source, number


def declared_targets(package: str):
    """Target name -> (local dependencies, product names) from Package.swift's text."""
    targets = {}
    for match in re.finditer(r"\.(?:target|testTarget|executableTarget|systemLibrary)\(\s*name:\s*\"([^\"]+)\"", package):
        name, rest = match.group(1), package[match.end():]
        depends = re.match(r"\s*,\s*dependencies:\s*\[", rest)
        local, products = set(), set()
        if depends:
            depth, index = 1, depends.end()
            while depth and index < len(rest):
                depth += {"[": 1, "]": -1}.get(rest[index], 0)
                index += 1
            body = rest[depends.end():index - 1]
            products = set(re.findall(r"\.product\(\s*name:\s*\"([^\"]+)\"", body))
            local = set(re.findall(r"\.target\(\s*name:\s*\"([^\"]+)\"", body))
            plain = re.sub(r"\.(?:product|target)\([^)]*\)", "", body)
            local |= set(re.findall(r"\"([^\"]+)\"", plain))
        targets[name] = (local, products)
    return targets


def main() -> int:
    project = pathlib.Path(__file__).resolve().parent.parent
    root = project / "Sources"
    rank = {module: index for index, layer in enumerate(LAYERS) for module in layer}
    problems = []
    modules = sorted(p.name for p in root.iterdir() if p.is_dir())
    for module in modules:
        if module not in rank:
            problems.append(f"Sources/{module}: not in any layer of scripts/check_module_graph.py; add it where it belongs")
            continue
        for imported, source, number in imports(root / module):
            if imported not in rank:
                continue  # a system or package module
            where = f"{source.relative_to(project)}:{number}"
            if rank[imported] >= rank[module]:
                problems.append(f"{where}: {module} imports {imported}, which is not below it")
            elif module in ONLY and imported not in ONLY[module]:
                problems.append(f"{where}: {module} may import only {', '.join(sorted(ONLY[module]))}, not {imported}")

    targets = declared_targets((project / "Package.swift").read_text(encoding="utf-8"))
    products = set().union(*(declared[1] for declared in targets.values()))
    for name, (local, declared_products) in sorted(targets.items()):
        folder = (project / "Tests" / name) if name.endswith("Tests") else (root / name)
        if not folder.is_dir():
            continue
        used = {}
        for imported, source, number in imports(folder):
            used.setdefault(imported, f"{source.relative_to(project)}:{number}")
        for imported, where in sorted(used.items()):
            if imported == name or imported in TOOLCHAIN:
                continue
            if imported in targets and imported not in local:
                problems.append(f"{where}: {name} imports {imported}, which Package.swift does not list among its dependencies")
            elif imported in products and imported not in declared_products:
                problems.append(f"{where}: {name} imports {imported}, a product Package.swift does not list among its dependencies")
        for dependency in sorted(local):
            # A C module may be reached through a header rather than an import.
            if dependency not in used and not dependency.startswith("C"):
                problems.append(f"Package.swift: {name} depends on {dependency}, which none of its files imports")
        for product in sorted(declared_products):
            if product not in used and product in products and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", product):
                problems.append(f"Package.swift: {name} depends on the product {product}, which none of its files imports")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"module graph: {len(modules)} modules, every import points down and matches Package.swift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
