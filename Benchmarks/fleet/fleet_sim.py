#!/usr/bin/env python3
"""A fleet of planet-exporter agents in one process, for the fleet benchmark.

Writes a fleet inventory (the Go original's ndjson format: one host per line with its hostgroup
and domain), then serves one /metrics target per agent on its own loopback address
(127.10.X.Y:PORT), each with the series a real agent exports for its host: traffic bytes
per peer, direction and port, and the dependency gauges, labelled from the inventory.

Time runs fast so that one hour of scrapes fits in a few minutes: every scrape of a target
returns samples with explicit timestamps, 15 s (--sim-step) after that target's previous
scrape, starting --sim-hours (plus --sim-lead) before the simulator started and never
passing its start.
Prometheus keeps the given timestamps (honor_timestamps), so it stores an hour of history
as if it had scraped the fleet every 15 s. --status FILE gets the lowest number of scrapes
any target has served, once a second, so a script can wait for the hour to be complete.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import time

parser = argparse.ArgumentParser()
parser.add_argument("--agents", type=int, default=1000)
parser.add_argument("--hostgroups", type=int, default=50)
parser.add_argument("--upstreams", type=int, default=35, help="upstream peers per agent")
parser.add_argument("--downstreams", type=int, default=30, help="downstream peers per agent")
parser.add_argument("--port", type=int, default=19100)
parser.add_argument("--sim-step", type=int, default=15)
parser.add_argument("--sim-hours", type=float, default=1.0)
parser.add_argument("--sim-lead", type=int, default=300,
                    help="simulated seconds before the hour: Prometheus drops the first scrapes as too old")
parser.add_argument("--inventory", required=True, help="where to write the fleet inventory (ndjson)")
parser.add_argument("--targets", required=True, help="where to write the scrape targets (one host:port a line)")
parser.add_argument("--status", required=True)
parser.add_argument("--max-seconds", type=int, default=3600)
args = parser.parse_args()

# A listening socket and a scrape connection per agent: more than the default 1,024 files.
_, hard_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard_limit, hard_limit))
rng = random.Random(20240101)
start_real = int(time.time())
sim_start = start_real - int(args.sim_hours * 3600) - args.sim_lead
scrapes_for_hour = (int(args.sim_hours * 3600) + args.sim_lead) // args.sim_step


def address(i):
    return "127.10.%d.%d" % (i // 250, i % 250 + 1)


def host_ip(i):
    return "10.%d.%d.%d" % (20 + i // 62500, (i // 250) % 250, i % 250 + 1)


hostgroups = ["svc%02d" % g for g in range(args.hostgroups)]
hosts = [{"ip": host_ip(i), "hostgroup": hostgroups[i % args.hostgroups],
          "domain": "%s.service.consul" % hostgroups[i % args.hostgroups]} for i in range(args.agents)]
with open(args.inventory, "w") as out:
    for host in hosts:
        out.write(json.dumps(host) + "\n")
with open(args.targets, "w") as out:
    for i in range(args.agents):
        out.write("%s:%d\n" % (address(i), args.port))
service_port = {hg: str(8000 + g) for g, hg in enumerate(hostgroups)}
externals = ["52.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)) for _ in range(200)]


def labels(**pairs):
    return "{" + ",".join('%s="%s"' % item for item in pairs.items()) + "}"


def agent_series(i):
    """(counter prefixes with bytes/s, gauge prefixes) for agent i."""
    me = hosts[i]
    hg, domain = me["hostgroup"], me["domain"]
    process = hg + "-server"
    counters, gauges = [], []
    peers = rng.sample(range(args.agents), args.upstreams + args.downstreams)
    for n, p in enumerate(peers):
        peer = hosts[p] if n % 7 else {"ip": rng.choice(externals), "hostgroup": "", "domain": ""}
        upstream = n < args.upstreams
        port = service_port.get(peer["hostgroup"], "443") if upstream else service_port[hg]
        proc = process if not upstream or n % 3 else "consul"
        for direction in ("ingress", "egress"):
            rate = rng.choice((50, 200, 1500, 12000, 90000, 400000))
            counters.append(("planet_traffic_bytes_total" + labels(
                direction=direction, local_domain=domain, local_hostgroup=hg, port=port, process_name=proc,
                protocol="tcp", remote_domain=peer["domain"], remote_hostgroup=peer["hostgroup"], remote_ip=peer["ip"]), rate))
        gauges.append(("planet_upstream" if upstream else "planet_downstream") + labels(
            local_address=me["ip"], local_hostgroup=hg, port=port, process_name=proc, protocol="tcp",
            remote_address=peer["ip"], remote_hostgroup=peer["hostgroup"]))
    for proc, port in ((process, service_port[hg]), ("node_exporter", "9100"), ("planet-exporter", "19100")):
        gauges.append("planet_server_process" + labels(bind="0.0.0.0", local_hostgroup=hg, port=port, process_name=proc))
    gauges.append("planet_hostname" + labels(domain=domain, hostname="host%04d" % i, ip=me["ip"], local_hostgroup=hg))
    return counters, gauges


HEAD = ("# HELP planet_traffic_bytes_total Total network traffic with peers\n"
        "# TYPE planet_traffic_bytes_total counter\n")
agents = [agent_series(i) for i in range(args.agents)]
scrapes = [0] * args.agents


def render(i):
    k = scrapes[i]
    scrapes[i] = k + 1
    sim = min(sim_start + k * args.sim_step, start_real)
    elapsed = sim - sim_start
    stamp = " %d\n" % (sim * 1000)
    counters, gauges = agents[i]
    parts = [HEAD]
    parts.extend("%s %d%s" % (prefix, rate * elapsed, stamp) for prefix, rate in counters)
    parts.extend(prefix + " 1" + stamp for prefix in gauges)
    return "".join(parts).encode()


def handler(i):
    async def serve(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"GET /metrics"):
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    body = render(i)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\n\r\n"
                                 % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
    return serve


async def main():
    servers = [await asyncio.start_server(handler(i), address(i), args.port, backlog=16) for i in range(args.agents)]
    deadline = time.time() + args.max_seconds
    while time.time() < deadline:
        with open(args.status + ".tmp", "w") as out:
            out.write("%d %d\n" % (min(scrapes), scrapes_for_hour))
        os.replace(args.status + ".tmp", args.status)
        await asyncio.sleep(1)
    for server in servers:
        server.close()


asyncio.run(main())
