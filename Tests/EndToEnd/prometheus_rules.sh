#!/usr/bin/env bash
# The operator's rules (setup/prometheus/rules.yml): promtool checks them and runs their
# unit tests (setup/prometheus/rules_test.yml), alerts fired and not fired, exact
# recording-rule values. Needs no root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd promtool

promtool check rules "$E2E_ROOT/setup/prometheus/rules.yml" || fail "promtool rejects rules.yml"
(cd "$E2E_ROOT/setup/prometheus" && promtool test rules rules_test.yml) || fail "rules_test.yml failed"
echo "prometheus rules: ok"
