#!/usr/bin/env python3
"""Ages an agent's state file as if it had been written SECONDS earlier: moves its save
time and every history bucket back, and writes the checksum again. Reads and writes the
format as docs/metrics.md and Sources/Traffic/StateFile.swift describe it, independently
of the agent's code, so a restart can be tested after a stop longer than a range without
moving the machine's clock.

  age_state.py FILE SECONDS
Prints the ingress bytes the file holds per history range: "minute N hour N day N month N".
"""
import struct
import sys
import zlib

path, seconds = sys.argv[1], int(sys.argv[2])
data = bytearray(open(path, "rb").read())
assert data[:8] == b"PESTATE\n", "not a state file"
(version,) = struct.unpack_from("<I", data, 8)
assert version == 1, f"format version {version}"
host_length = data[12]
offset = 13 + host_length
(saved_at,) = struct.unpack_from("<q", data, offset)
(body_length,) = struct.unpack_from("<I", data, offset + 8)
end = offset + 12 + body_length
assert struct.unpack_from("<I", data, end)[0] == zlib.crc32(bytes(data[:end])), "checksum"
struct.pack_into("<q", data, offset, saved_at - seconds)
offset += 12
ingress_by_range = [0, 0, 0, 0]
while offset < end:
    tag = data[offset]
    offset += 1
    (count,) = struct.unpack_from("<I", data, offset)
    offset += 4
    if tag == 1:  # history: range u8, start i64, ingress u64, egress u64
        for _ in range(count):
            (start, ingress) = struct.unpack_from("<qQ", data, offset + 1)
            ingress_by_range[data[offset]] += ingress
            struct.pack_into("<q", data, offset + 1, start - seconds)
            offset += 25
    elif tag == 2:  # DNS names: the names, then the addresses
        for _ in range(count):
            offset += 1 + data[offset]
        (addresses,) = struct.unpack_from("<I", data, offset)
        offset += 4 + addresses * 28
    elif tag == 3:  # TCP servers
        offset += count * 18
    elif tag == 4:  # UDP server ports
        offset += count * 2
    else:
        sys.exit(f"unknown section {tag}")
assert offset == end, "sections do not end where the body does"
print(" ".join(f"{name} {ingress_by_range[index]}" for index, name in enumerate(("minute", "hour", "day", "month"))))
struct.pack_into("<I", data, end, zlib.crc32(bytes(data[:end])))
open(path, "wb").write(data)
