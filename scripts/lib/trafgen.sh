# Shared by the benchmarks and the end-to-end tests that flood a veth with trafgen.

# udp64_trafgen MAC DEST_IP RANDOM_SOURCE_BYTES: a trafgen configuration of 64-byte
# Ethernet frames to MAC (IPv4 total length 46), UDP to port 53 of DEST_IP from a random
# source port. The source address is 198.18.R.R with 2 random bytes (65,536 peers) or
# 198.R.R.R with 3 (about 16.7 million: every frame almost always a new peer).
udp64_trafgen() {
    local mac destination source
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
  drnd(2), const16(53), const16(26), const16(0),
  fill(0x41, 18),
}
CFG
}
