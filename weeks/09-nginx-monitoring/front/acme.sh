#!/usr/bin/env bash
# acme.sh — a certificate the way Let's Encrypt gives one, on this machine: pebble (Let's
# Encrypt's ACME test server, from Debian) as the certificate authority, pebble-challtestsrv as
# the DNS that says where NAME lives (127.0.0.1), and certbot proving control of NAME over
# HTTP-01 through the front's webroot (front.sh serves DIR/webroot/.well-known/acme-challenge/).
#
# usage:
#   acme.sh up DIR HTTP_PORT         start pebble and its DNS; pebble checks challenges on
#                                    NAME:HTTP_PORT (the front's plain HTTP port). Prints
#                                    acme-directory URL and root-ca PATH (pebble's root, made new
#                                    at each start: trust it to check what pebble issues)
#   acme.sh issue DIR NAME WEBROOT   certbot certonly --webroot; prints cert PATH and key PATH
#   acme.sh renew DIR HOOK           certbot renew --force-renewal, running HOOK (a shell
#                                    command) after a certificate was renewed
#   acme.sh down DIR
# Everything certbot keeps (account, certificates, logs) is under DIR/certbot.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../..
. "$here/../../../shared/scripts/ports.sh"
# shellcheck source=weeks/09-nginx-monitoring/pidfiles.sh source-path=SCRIPTDIR/../../..
. "$here/../pidfiles.sh"

die() { echo "acme: error: $*" >&2; exit 1; }
usage() { sed -n '7,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

certbot_in() {
  local dir=$1
  shift
  REQUESTS_CA_BUNDLE="$dir/api/ca.pem" certbot "$@" --non-interactive \
    --config-dir "$dir/certbot/config" --work-dir "$dir/certbot/work" \
    --logs-dir "$dir/certbot/logs"
}

cmd_up() {
  local dir=$1 http_port=$2 acme_port mgmt_port dns_port cts_mgmt
  [[ "$http_port" =~ ^[0-9]+$ ]] || die "HTTP_PORT must be a port number"
  alive "$dir" pebble && die "pebble already runs from $dir (acme.sh down $dir first)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # pebble keeps everything in memory and makes a new root at each start: an account or a
  # certificate certbot kept from an earlier pebble means nothing to this one.
  rm -rf "$dir/certbot"
  # pebble's own API is HTTPS only: a key pair for 127.0.0.1 from a local CA certbot will trust.
  [ -f "$dir/api/cert.pem" ] || bash "$here/tls-selfsigned.sh" "$dir/api" localhost 2>/dev/null
  acme_port=$(free_port)
  mgmt_port=$(free_port)
  dns_port=$(free_port)
  cts_mgmt=$(free_port)
  cat >"$dir/pebble.json" <<JSON
{"pebble": {
  "listenAddress": "127.0.0.1:$acme_port",
  "managementListenAddress": "127.0.0.1:$mgmt_port",
  "certificate": "$dir/api/cert.pem",
  "privateKey": "$dir/api/key.pem",
  "httpPort": $http_port,
  "tlsPort": 5001,
  "ocspResponderURL": "",
  "externalAccountBindingRequired": false
}}
JSON
  # Every name is 127.0.0.1 (no AAAA: the front listens on IPv4 only).
  pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns_port" \
    -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$cts_mgmt" \
    >"$dir/challtestsrv.log" 2>&1 &
  echo $! >"$dir/challtestsrv.pid"
  # No random sleeps before validating, and no nonces refused on purpose: pebble tests clients
  # with both by default; certbot copes, but a suite wants the same run every time.
  PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$dir/pebble.json" -dnsserver "127.0.0.1:$dns_port" >"$dir/pebble.log" 2>&1 &
  echo $! >"$dir/pebble.pid"
  for _ in $(seq 100); do
    curl -sf --cacert "$dir/api/ca.pem" -o /dev/null "https://127.0.0.1:$acme_port/dir" && break
    alive "$dir" pebble || die "pebble exited: $(tail -5 "$dir/pebble.log")"
    sleep 0.1
  done
  curl -sf --cacert "$dir/api/ca.pem" "https://127.0.0.1:$mgmt_port/roots/0" >"$dir/root.pem" ||
    die "pebble did not answer within 10 s: $(tail -5 "$dir/pebble.log")"
  echo "https://127.0.0.1:$acme_port/dir" >"$dir/directory"
  echo "acme-directory https://127.0.0.1:$acme_port/dir"
  echo "root-ca $dir/root.pem"
}

cmd_issue() {
  local dir=$1 name=$2 webroot=$3
  [ -f "$dir/directory" ] || die "no ACME server from $dir (acme.sh up first)"
  dir=$(cd "$dir" && pwd)
  certbot_in "$dir" certonly --webroot -w "$webroot" -d "$name" --server "$(cat "$dir/directory")" \
    --agree-tos --register-unsafely-without-email --key-type ecdsa \
    >"$dir/issue.log" 2>&1 || die "certbot failed: $(tail -15 "$dir/issue.log")"
  echo "cert $dir/certbot/config/live/$name/fullchain.pem"
  echo "key $dir/certbot/config/live/$name/privkey.pem"
}

cmd_renew() {
  local dir=$1 hook=$2
  dir=$(cd "$dir" && pwd)
  # --no-random-sleep-on-renew: run from a terminal or a test, not from a cron job where
  # certbot sleeps up to 8 minutes so that the world's renewals do not all arrive at once.
  certbot_in "$dir" renew --force-renewal --no-random-sleep-on-renew --server "$(cat "$dir/directory")" \
    --deploy-hook "$hook" >"$dir/renew.log" 2>&1 || die "certbot renew failed: $(tail -15 "$dir/renew.log")"
}


[ $# -ge 2 ] || usage
cmd=$1
shift
case "$cmd" in
  up) [ $# -eq 2 ] || usage; cmd_up "$@" ;;
  issue) [ $# -eq 3 ] || usage; cmd_issue "$@" ;;
  renew) [ $# -eq 2 ] || usage; cmd_renew "$@" ;;
  down) stop "$1" pebble; stop "$1" challtestsrv ;;
  *) usage ;;
esac
