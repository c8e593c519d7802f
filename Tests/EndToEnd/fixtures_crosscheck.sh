#!/usr/bin/env bash
# The pcap fixtures' expected answers checked against independent tools: tshark's
# per-peer totals and the minimal C libpcap reference (scripts/fixtures/check.sh), and
# the agent's own replay of every fixture against the same answers. Needs no root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd tshark python3 cc
require_agent
bash "$E2E_ROOT/scripts/fixtures/check.sh" || fail "fixtures disagree with tshark or the C reference"
echo "fixtures cross-check: ok"
