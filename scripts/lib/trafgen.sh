# Shared by the benchmarks and the end-to-end tests that flood a veth with trafgen.

# udp64_trafgen MAC DEST_IP RANDOM_SOURCE_BYTES [SOURCE_PORT [DEST_PORT]]: a trafgen
# configuration of 64-byte Ethernet frames to MAC (IPv4 total length 46), UDP to DEST_PORT
# (default 53) of DEST_IP from SOURCE_PORT (default random); either port may be "random".
# The source address is 198.18.R.R with 2 random bytes (65,536 peers) or 198.R.R.R with 3
# (about 16.7 million: every frame almost always a new peer). The payload is 18 bytes of
# 0x41, which no DNS decoder takes for a response.
udp64_trafgen() {
    local mac destination source source_port destination_port
    source_port=$(udp64_port "${4:-random}") || return 2
    destination_port=$(udp64_port "${5:-53}") || return 2
    mac=$(echo "$1" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1/g; s/:/, /g')
    destination=${2//./, }
    case $3 in
        2) source="198, 18, drnd(2)," ;;
        3) source="198, drnd(3)," ;;
        *) echo "udp64_trafgen: RANDOM_SOURCE_BYTES is 2 or 3, not $3" >&2; return 2 ;;
    esac
    cat <<CFG
{
  $mac,
  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x08, 0x00,
  0x45, 0x00, const16(46), const16(0), const16(0x4000), 64, 17, csumip(14, 33),
  $source
  $destination,
  $source_port, $destination_port, const16(26), const16(0),
  fill(0x41, 18),
}
CFG
}

# udp64_port PORT: a port number or "random" as a trafgen field.
udp64_port() {
    case $1 in
        random) echo "drnd(2)" ;;
        *[!0-9]* | "") echo "udp64_trafgen: a port is a number or random, not $1" >&2; return 2 ;;
        *) echo "const16($1)" ;;
    esac
}

# dns_answer_trafgen MAC DEST_IP SOURCE_PORT: a trafgen configuration of 85-byte Ethernet
# frames (IPv4 total length 71) from SOURCE_PORT to port 40000 of DEST_IP, from 65,536
# peers (198.18.R.R), each a DNS response with a random ID: a.example A 192.0.2.1, TTL 300.
# Nobody asked: from port 53 every frame is decoded and refused as unsolicited.
dns_answer_trafgen() {
    local mac destination
    mac=$(echo "$1" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1/g; s/:/, /g')
    destination=${2//./, }
    cat <<CFG
{
  $mac,
  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x08, 0x00,
  0x45, 0x00, const16(71), const16(0), const16(0x4000), 64, 17, csumip(14, 33),
  198, 18, drnd(2),
  $destination,
  const16($3), const16(40000), const16(51), const16(0),
  drnd(2), const16(0x8180), const16(1), const16(1), const16(0), const16(0),
  1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, const16(1), const16(1),
  0xc0, 0x0c, const16(1), const16(1), const32(300), const16(4), 192, 0, 2, 1,
}
CFG
}
