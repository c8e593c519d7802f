#!/usr/bin/env python3
"""Checks planet_traffic_bytes_total per process unit against what tcpdump saw.

  unit_bytes.py METRICS REFERENCE REMOTE_IP PORT PROCESS LOCAL=UNIT...
      METRICS is a /metrics scrape; REFERENCE has a line "SOURCE DESTINATION IP_LENGTH" per
      packet (tshark -T fields -e ip.src -e ip.dst -e ip.len). Each LOCAL=UNIT says that
      the packets from or to local address LOCAL are those of PROCESS in UNIT. The series
      of REMOTE_IP and PORT must be exactly PROCESS's, one per unit and direction, each
      with the bytes tcpdump saw; exits 1 with the differences otherwise.
"""
import re
import sys
from collections import Counter


def main():
    metrics, reference, remote, port, process = sys.argv[1:6]
    unit_of = dict(pair.split("=", 1) for pair in sys.argv[6:])
    expected = Counter()
    for line in open(reference):
        source, destination, size = line.split()
        local = source if source in unit_of else destination
        expected[(unit_of[local], "egress" if source in unit_of else "ingress")] += int(size)
    got, others = Counter(), []
    for line in open(metrics):
        match = re.match(r'^planet_traffic_bytes_total\{(.*)\} (\d+)$', line.strip())
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if labels["remote_ip"] != remote or labels["port"] != port:
            continue
        if labels["process_name"] == process and labels.get("process_unit") in unit_of.values():
            got[(labels["process_unit"], labels["direction"])] += int(match.group(2))
        else:
            others.append(line.strip())
    errors = [f"series of port {port} under another process or unit: {line}" for line in others]
    for key in sorted(expected):
        print(f"    {key[0]} {key[1]}: tcpdump {expected[key]}, agent {got[key]}")
        if got[key] != expected[key]:
            errors.append(f"{key}: agent counted {got[key]}, tcpdump {expected[key]}")
    if len(expected) != 2 * len(set(unit_of.values())):
        errors.append(f"reference has {len(expected)} unit/direction pairs, want {2 * len(set(unit_of.values()))}")
    if errors:
        print("\n".join(errors))
        sys.exit(1)


if __name__ == "__main__":
    main()
