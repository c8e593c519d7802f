#!/usr/bin/env bash
# exporter-toolkit's web config, end to end: certificates made by openssl here, bcrypt
# hashes made by htpasswd (apache2-utils). curl with no, wrong and right credentials on
# every endpoint; a real Prometheus scraping over TLS with basic_auth (up == 1); the
# password changed in the file stops working without a restart; a broken change keeps the
# last good config; a renewed certificate is served to the next connection; client
# certificates when client_auth_type asks for them; a broken file refused at start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd openssl htpasswd curl prometheus promtool python3
require_agent

tls=$E2E_TMP/tls
mkdir -p "$tls"
# make_cert NAME CN SAN [CA]: a P-256 key and certificate, signed by CA (or self-signed).
make_cert() {
    local name=$1 cn=$2 san=$3 ca=${4:-}
    if [ -z "$ca" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$cn" \
            -addext "subjectAltName=$san" -addext "basicConstraints=critical,CA:TRUE" \
            -keyout "$tls/$name.key" -out "$tls/$name.crt" 2>/dev/null
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
            -keyout "$tls/$name.key" -out "$tls/$name.csr" 2>/dev/null
        printf 'subjectAltName=%s\n' "$san" > "$tls/$name.ext"
        openssl x509 -req -in "$tls/$name.csr" -CA "$tls/$ca.crt" -CAkey "$tls/$ca.key" -CAcreateserial \
            -days 2 -extfile "$tls/$name.ext" -out "$tls/$name.crt" 2>/dev/null
    fi
}
make_cert ca "planet test CA" "DNS:ca"
make_cert server localhost "DNS:localhost,IP:127.0.0.1" ca
make_cert server2 localhost "DNS:localhost,IP:127.0.0.1" ca
make_cert client client "DNS:scraper.example" ca
make_cert stranger stranger "DNS:stranger.example"
cp "$tls/server.crt" "$tls/live.crt"; cp "$tls/server.key" "$tls/live.key"

hash() { htpasswd -nbBC 10 "" "$1" | tr -d ':\n'; }
write_config() {  # write_config PASSWORD: the web config, written whole through a rename
    cat > "$E2E_TMP/web.yml.new" <<YAML
tls_server_config:
  cert_file: tls/live.crt
  key_file: tls/live.key
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: $(hash "$1")
YAML
    mv "$E2E_TMP/web.yml.new" "$E2E_TMP/web.yml"
}
write_config first-secret

port=$(free_port)
"$PLANET_EXPORTER" -listen-address "127.0.0.1:$port" -web.config.file "$E2E_TMP/web.yml" \
    -task-capture-enabled=false -task-interval 1s 2> "$E2E_TMP/agent.log" &
E2E_PIDS+=($!)
url=https://127.0.0.1:$port
get() {  # get PATH [curl args...]: prints the HTTP status
    local path=$1; shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$tls/ca.crt" "$@" "$url$path" || true
}
wait_for 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert $tls/ca.crt $url/-/healthy)\" = 401 ]" \
    || { cat "$E2E_TMP/agent.log"; fail "the agent did not answer over TLS"; }
grep -q 'TLS is on, basic auth on (1 users)' "$E2E_TMP/agent.log" || fail "start-up does not say TLS and auth are on"

log "every endpoint: 401 with WWW-Authenticate without or with wrong credentials, 200 with the right ones"
for path in /metrics / /-/healthy /api/v1/summary /no-such-page; do
    [ "$(get "$path")" = 401 ] || fail "$path without credentials is not 401"
    [ "$(get "$path" -u alice:wrong)" = 401 ] || fail "$path with a wrong password is not 401"
    [ "$(get "$path" -u mallory:first-secret)" = 401 ] || fail "$path with an unknown user is not 401"
done
headers=$(curl -s -D - -o /dev/null --cacert "$tls/ca.crt" "$url/metrics")
grep -qi '^www-authenticate: Basic' <<<"$headers" || fail "no WWW-Authenticate: Basic on a 401"
grep -qi '^x-frame-options: deny' <<<"$headers" || fail "configured header missing on a 401"
[ "$(get /metrics -u alice:first-secret)" = 200 ] || fail "the right password is refused"
[ "$(get /-/healthy -u alice:first-secret)" = 200 ] || fail "/-/healthy with the right password is refused"
# Fetched whole, then searched: `grep -q` in a pipe stops reading at its first match,
# and under pipefail curl's broken pipe would fail the check now and then.
tls_metrics=$(curl -sf --cacert "$tls/ca.crt" -u alice:first-secret "$url/metrics") \
    || fail "/metrics over TLS with the right password failed"
grep -q '^planet_exporter_build_info' <<< "$tls_metrics" || fail "/metrics over TLS does not carry the metrics"
curl -s --max-time 5 "http://127.0.0.1:$port/metrics" >/dev/null && fail "plain HTTP answered on the TLS port"

log "a real Prometheus scrapes over TLS with basic_auth"
prom_port=$(free_port)
mkdir -p "$E2E_TMP/prometheus"
cat > "$E2E_TMP/prometheus/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: planet-exporter
    scheme: https
    tls_config:
      ca_file: $tls/ca.crt
    basic_auth:
      username: alice
      password: first-secret
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
promtool check config "$E2E_TMP/prometheus/prometheus.yml" >/dev/null
prometheus --config.file="$E2E_TMP/prometheus/prometheus.yml" --storage.tsdb.path="$E2E_TMP/prometheus/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn 2> "$E2E_TMP/prometheus.log" &
E2E_PIDS+=($!)
query() { curl -sf --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"; }
up_is() { query 'up{job="planet-exporter"}' | python3 -c "import json,sys; r=json.load(sys.stdin)['data']['result']; sys.exit(0 if r and r[0]['value'][1]=='$1' else 1)"; }
wait_for 60 up_is 1 || { query up; cat "$E2E_TMP/prometheus.log"; fail "Prometheus did not scrape over TLS with basic_auth"; }
query 'planet_exporter_build_info' | matches '"version"' || fail "Prometheus has no planet_exporter_build_info"

log "the password changed in the file: the old one stops working without a restart"
write_config second-secret
changed=$SECONDS
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert $tls/ca.crt -u alice:first-secret $url/metrics)\" = 401 ]" \
    || fail "the old password still works after the change"
log "old password refused $((SECONDS - changed)) s after the change"
[ "$(get /metrics -u alice:second-secret)" = 200 ] || fail "the new password is refused"
wait_for 30 up_is 0 || fail "Prometheus with the old password is still up"
grep -q 'reloaded' "$E2E_TMP/agent.log" || fail "the reload was not logged"

log "a broken change keeps the last good config, said once in the log"
printf 'basic_auth_users:\n  alice: not-a-hash\n' > "$E2E_TMP/web.yml.new" && mv "$E2E_TMP/web.yml.new" "$E2E_TMP/web.yml"
wait_for 10 grep -q 'keeping the last good config' "$E2E_TMP/agent.log" || { cat "$E2E_TMP/agent.log"; fail "a broken reload was not logged"; }
for _ in 1 2 3 4 5; do [ "$(get /metrics -u alice:second-secret)" = 200 ] || fail "a broken file dropped the last good config"; sleep 0.3; done
[ "$(grep -c 'keeping the last good config' "$E2E_TMP/agent.log")" -eq 1 ] || fail "the broken file was logged more than once"
grep 'keeping the last good config' "$E2E_TMP/agent.log" | matches 'basic_auth_users.alice: not a bcrypt hash' \
    || fail "the log line does not name the key"

log "a file emptied in place (cat > web.yml) does not switch basic auth off"
: > "$E2E_TMP/web.yml"
wait_for 10 grep -q 'refused: it would switch authentication off' "$E2E_TMP/agent.log" \
    || { cat "$E2E_TMP/agent.log"; fail "an emptied web config was not refused"; }
for _ in 1 2 3; do
    [ "$(get /metrics)" = 401 ] || fail "an emptied web config served /metrics without credentials"
    [ "$(get /metrics -u alice:second-secret)" = 200 ] || fail "an emptied web config dropped the last good config"
    sleep 0.5
done

log "a renewed certificate is served to the next connection"
write_config second-secret
serial() { openssl s_client -connect "127.0.0.1:$port" -CAfile "$tls/ca.crt" </dev/null 2>/dev/null | openssl x509 -noout -serial; }
before=$(serial)
[ "$before" = "$(openssl x509 -noout -serial -in "$tls/server.crt")" ] || fail "not serving the configured certificate"
cp "$tls/server2.key" "$tls/live.key.new"; cp "$tls/server2.crt" "$tls/live.crt.new"
mv "$tls/live.key.new" "$tls/live.key"; mv "$tls/live.crt.new" "$tls/live.crt"
renewed() { [ "$(get /-/healthy -u alice:second-secret)" = 200 ] && [ "$(serial)" = "$(openssl x509 -noout -serial -in "$tls/server2.crt")" ]; }
wait_for 10 renewed || fail "the renewed certificate is not served"

log "client certificates: required and verified against client_ca_file"
cat > "$E2E_TMP/mtls.yml" <<YAML
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: tls/ca.crt
YAML
mport=$(free_port)
"$PLANET_EXPORTER" -listen-address "127.0.0.1:$mport" -web.config.file "$E2E_TMP/mtls.yml" \
    -task-capture-enabled=false -task-socketstat-enabled=false 2> "$E2E_TMP/mtls.log" &
E2E_PIDS+=($!)
murl=https://127.0.0.1:$mport/metrics
mget() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$tls/ca.crt" "$@" "$murl" || true; }
wait_for 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert $tls/ca.crt --cert $tls/client.crt --key $tls/client.key $murl)\" = 200 ]" \
    || { cat "$E2E_TMP/mtls.log"; fail "a trusted client certificate is refused"; }
[ "$(mget)" = 000 ] || fail "a client without a certificate got an answer"
[ "$(mget --cert "$tls/stranger.crt" --key "$tls/stranger.key")" = 000 ] || fail "an untrusted client certificate got an answer"

log "client_allowed_sans: a trusted certificate without an allowed name is refused"
cat > "$E2E_TMP/mtls.yml.new" <<YAML
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: tls/ca.crt
  client_allowed_sans: [other.example]
YAML
mv "$E2E_TMP/mtls.yml.new" "$E2E_TMP/mtls.yml"
refused() { [ "$(mget --cert "$tls/client.crt" --key "$tls/client.key")" = 000 ]; }
wait_for 10 refused || fail "a client certificate without an allowed SAN was served"
sed -i 's/other.example/scraper.example/' "$E2E_TMP/mtls.yml"
wait_for 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert $tls/ca.crt --cert $tls/client.crt --key $tls/client.key $murl)\" = 200 ]" \
    || fail "a client certificate with an allowed SAN is refused"

log "a broken file at start: refused with one line naming the key"
printf 'tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n  client_auth_type: Sometimes\n' > "$E2E_TMP/bad.yml"
set +e
"$PLANET_EXPORTER" -listen-address "127.0.0.1:$(free_port)" -web.config.file "$E2E_TMP/bad.yml" \
    -task-capture-enabled=false -task-socketstat-enabled=false > /dev/null 2> "$E2E_TMP/bad.log"
status=$?
set -e
[ "$status" -ne 0 ] || fail "a broken web config was accepted at start"
grep -q "tls_server_config.client_auth_type: invalid \"Sometimes\"" "$E2E_TMP/bad.log" || { cat "$E2E_TMP/bad.log"; fail "the error does not name the key"; }
[ "$(grep -c 'client_auth_type' "$E2E_TMP/bad.log")" -eq 1 ] || { cat "$E2E_TMP/bad.log"; fail "the error is not one line"; }
echo "web config end to end: ok"
