#!/usr/bin/env python3
"""Writes the sockets fixtures: a small procfs tree under proc/ and a sock_diag reply.

procfs prints each 32-bit address word from memory with %08X, so on the little-endian
hosts this project runs on every word appears byte-reversed; the tables below are
written in that form. Run from anywhere; the output replaces proc/ and sockdiag-*.bin.
"""
import ipaddress
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
PROC = os.path.join(HERE, "proc")

TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
TCP6_HEADER = ("  sl  local_address                         remote_address                        "
               "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
UDP_HEADER = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
UDP6_HEADER = ("  sl  local_address                         remote_address                        "
               "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")

LISTEN, ESTABLISHED, TIME_WAIT, CLOSE = 0x0A, 0x01, 0x06, 0x07


def proc_hex(address):
    packed = ipaddress.ip_address(address).packed
    return "".join("%08X" % struct.unpack("<I", packed[i:i + 4])[0] for i in range(0, len(packed), 4))


def row(slot, local, lport, remote, rport, state, uid, inode, udp=False):
    tail = " 2 0000000000000000 0" if udp else " 1 0000000000000000 100 0 0 10 0"
    if inode == 0:
        tail = " 3 0000000000000000"
    return "%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000 %5d        0 %d%s\n" % (
        slot, proc_hex(local), lport, proc_hex(remote), rport, state, uid, inode, tail)


# (table, local, lport, remote, rport, state, uid, inode)
SOCKETS = [
    ("tcp", "0.0.0.0", 22, "0.0.0.0", 0, LISTEN, 0, 1001),             # sshd
    ("tcp", "10.0.0.5", 22, "192.168.1.2", 51000, ESTABLISHED, 0, 1003),  # sshd session
    ("tcp", "0.0.0.0", 80, "0.0.0.0", 0, LISTEN, 33, 2001),            # nginx
    ("tcp", "10.0.0.5", 80, "10.1.2.3", 40000, TIME_WAIT, 0, 0),        # closed nginx client
    ("tcp", "127.0.0.1", 8500, "0.0.0.0", 0, LISTEN, 100, 3001),       # consul HTTP API
    ("tcp", "10.0.0.5", 45000, "10.2.3.4", 8300, ESTABLISHED, 100, 3003),  # consul -> server
    ("tcp", "127.0.0.1", 8500, "127.0.0.1", 46000, ESTABLISHED, 100, 3005),  # consul <- template
    ("tcp", "127.0.0.1", 46000, "127.0.0.1", 8500, ESTABLISHED, 100, 4001),  # template -> consul
    ("tcp", "10.0.0.5", 50001, "35.158.25.125", 443, ESTABLISHED, 1000, 5001),  # curl
    ("tcp", "10.0.0.5", 50002, "35.158.25.125", 443, ESTABLISHED, 1000, 5002),  # curl again
    ("tcp", "10.0.0.5", 50003, "35.158.25.125", 443, 0x02, 1000, 5003),  # SYN_SENT: ignored
    ("tcp6", "::", 22, "::", 0, LISTEN, 0, 1002),                      # sshd
    ("tcp6", "::ffff:10.0.0.5", 45002, "::ffff:10.2.3.3", 8300, ESTABLISHED, 100, 3004),
    ("tcp6", "::1", 9000, "::1", 41000, TIME_WAIT, 0, 0),              # no listener: upstream to ::1
    ("udp", "0.0.0.0", 8301, "0.0.0.0", 0, CLOSE, 100, 3002),          # consul gossip
    ("udp6", "2001:db8::5", 53000, "2001:db8::53", 53, ESTABLISHED, 0, 6001),  # resolver
]

# pid -> (comm, {fd: link target})
PROCESSES = {
    101: ("sshd", {3: "socket:[1001]", 4: "socket:[1002]", 5: "socket:[1003]", 0: "/dev/null"}),
    102: ("sshd-session", {7: "socket:[1003]", 1: "pipe:[777]"}),
    202: ("nginx", {6: "socket:[2001]", 9: "anon_inode:[eventpoll]"}),
    303: ("consul", {3: "socket:[3001]", 4: "socket:[3002]", 5: "socket:[3003]", 6: "socket:[3004]",
                     7: "socket:[3005]"}),
    404: ("consul-template", {3: "socket:[4001]"}),
    505: ("curl", {3: "socket:[5001]", 4: "socket:[5002]", 5: "socket:[5003]"}),
    606: ("resolver", {3: "socket:[6001]", 4: "socket:[99999]"}),
}
# pid -> /proc/PID/cgroup (consul-template has none: a procfs tree without the file).
DOCKER_ID = "3f4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"  # named in host/
CGROUPS = {
    101: "12:pids:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n0::/\n",  # v1 hybrid
    102: "0::/user.slice/user-1000.slice/session-4.scope\n",
    202: f"0::/system.slice/docker-{DOCKER_ID}.scope\n",
    303: "0::/system.slice/consul.service\n",
    505: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/fetch.service\n",
    606: "0::/\n",
}
# A process that exited between the /proc listing and reading its fd directory.
VANISHED_PID = 808


def write_tree():
    shutil.rmtree(PROC, ignore_errors=True)
    os.makedirs(os.path.join(PROC, "net"))
    headers = {"tcp": TCP_HEADER, "tcp6": TCP6_HEADER, "udp": UDP_HEADER, "udp6": UDP6_HEADER}
    for table, header in headers.items():
        rows = [s for s in SOCKETS if s[0] == table]
        with open(os.path.join(PROC, "net", table), "w") as out:
            out.write(header)
            for slot, (_, local, lport, remote, rport, state, uid, inode) in enumerate(rows):
                out.write(row(slot, local, lport, remote, rport, state, uid, inode, udp=table.startswith("udp")))
    for pid, (comm, fds) in PROCESSES.items():
        fd_dir = os.path.join(PROC, str(pid), "fd")
        os.makedirs(fd_dir)
        with open(os.path.join(PROC, str(pid), "comm"), "w") as out:
            out.write(comm + "\n")
        for fd, target in fds.items():
            os.symlink(target, os.path.join(fd_dir, str(fd)))
        if pid in CGROUPS:
            with open(os.path.join(PROC, str(pid), "cgroup"), "w") as out:
                out.write(CGROUPS[pid])
    # Kept as a directory with no fd/ (git does not store empty directories).
    os.makedirs(os.path.join(PROC, str(VANISHED_PID)))
    with open(os.path.join(PROC, str(VANISHED_PID), "comm"), "w") as out:
        out.write("exited\n")
    # Entries that are not processes must be ignored.
    os.makedirs(os.path.join(PROC, "sys"))
    with open(os.path.join(PROC, "sys", "placeholder"), "w") as out:
        out.write("not a process\n")
    os.symlink("101", os.path.join(PROC, "self"))


def sock_diag_message(family, state, local, lport, remote, rport, uid, inode, seq):
    def addr(text):
        packed = ipaddress.ip_address(text).packed
        return packed + bytes(16 - len(packed))
    body = struct.pack("=BBBB", family, state, 0, 0)
    body += struct.pack("!HH", lport, rport) + addr(local) + addr(remote)
    body += struct.pack("=IQ", 0, 0xFFFFFFFFFFFFFFFF)   # interface, cookie
    body += struct.pack("=IIIII", 0, 0, 0, uid, inode)  # expires, rqueue, wqueue, uid, inode
    return struct.pack("=IHHII", 16 + len(body), 20, 2, seq, 0) + body


def write_sock_diag():
    seq = 7
    messages = [
        sock_diag_message(2, LISTEN, "0.0.0.0", 22, "0.0.0.0", 0, 0, 1001, seq),
        sock_diag_message(2, ESTABLISHED, "10.0.0.5", 22, "192.168.1.2", 51000, 0, 1003, seq),
        sock_diag_message(2, TIME_WAIT, "10.0.0.5", 80, "10.1.2.3", 40000, 0, 0, seq),
    ]
    done = struct.pack("=IHHIIi", 20, 3, 2, seq, 0, 0)
    with open(os.path.join(HERE, "sockdiag-tcp4.bin"), "wb") as out:
        out.write(b"".join(messages) + done)
    six = sock_diag_message(10, ESTABLISHED, "::ffff:10.0.0.5", 45002, "2001:db8::53", 8300, 100, 3004, seq)
    with open(os.path.join(HERE, "sockdiag-tcp6-partial.bin"), "wb") as out:
        out.write(six)
    # NLMSG_ERROR carrying -ENOENT, what a kernel without udp_diag answers.
    error = struct.pack("=IHHIIi", 36, 2, 0, seq, 0, -2) + bytes(16)
    with open(os.path.join(HERE, "sockdiag-error.bin"), "wb") as out:
        out.write(error)


if __name__ == "__main__":
    write_tree()
    write_sock_diag()
