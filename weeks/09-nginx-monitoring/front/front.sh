#!/usr/bin/env bash
# front.sh — week 9's front door: Debian's nginx in front of taskd instances, run from a
# directory of its own (no root, nothing under /etc). The suites, `make run-front` and the lesson
# use it; nginx.conf.in beside it is the configuration, with @NAME@ slots filled here.
#
# usage:
#   front.sh up DIR [options] UPSTREAM...   write DIR/nginx.conf, start nginx, print its URLs
#   front.sh set DIR UPSTREAM...            replace the instances and reload without dropping
#                                           a request (the rolling restart's step)
#   front.sh tls DIR CERT KEY               serve HTTPS with CERT (chain, leaf first) and KEY,
#                                           plain HTTP redirecting to it; reload
#   front.sh reload DIR                     reload (certbot's deploy hook: a renewed certificate)
#   front.sh down DIR                       stop nginx gracefully (requests under way finish)
#   front.sh check DIR                      nginx -t on DIR's configuration
# UPSTREAM is HOST:PORT, or HOST:PORT=down to keep an instance listed but send it nothing new.
# options of up: --port P (default: a free one), --client-timeout S (10), --auth-rate R (10),
#   --auth-burst B (20), --max-body BYTES (1048576, taskd's MAX_BODY_BYTES default),
#   --tls CERT KEY (HTTPS from the start, as `tls` does).
# FRONT_TEMPLATE and FRONT_TLS_TEMPLATE name another nginx.conf.in and tls.conf.in (the
# learner's, in the lab). ACME's HTTP-01 tokens are served from DIR/webroot. up prints
#   front-url http://127.0.0.1:PORT
#   https-url https://127.0.0.1:TLS_PORT     (the port HTTPS uses once there is a certificate)
#   status-url http://127.0.0.1:PORT/stub_status
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../..
. "$here/../../../shared/scripts/ports.sh"
template=${FRONT_TEMPLATE:-$here/nginx.conf.in}
tls_template=${FRONT_TLS_TEMPLATE:-$here/tls.conf.in}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

die() { echo "front: error: $*" >&2; exit 1; }
usage() { sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# An absolute path that keeps symlinks: certbot's live/NAME/fullchain.pem is a link that renewal
# moves to the new certificate, so nginx must be given the link, never where it points today.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
nginx_in() { "$NGINX" -p "$1" -e "$1/error.log" -c "$1/nginx.conf" "${@:2}"; }
master_pid() { cat "$1/nginx.pid" 2>/dev/null || true; }
running() { local p; p=$(master_pid "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
workers() { pgrep -P "$(master_pid "$1")" 2>/dev/null | sort || true; }

# upstreams.conf from the UPSTREAM arguments: passive health checks on every line.
write_upstreams() {
  local dir=$1 u tmp hostport='^[^[:space:]=;]+:[0-9]+(=down)?$'
  shift
  [ $# -gt 0 ] || die "name at least one instance (HOST:PORT)"
  for u in "$@"; do
    [[ "$u" =~ $hostport ]] || die "not HOST:PORT: $u"
  done
  tmp=$(mktemp "$dir/upstreams.XXXXXX")
  for u in "$@"; do
    case "$u" in
      *=down) printf 'server %s down;\n' "${u%=down}" ;;
      *) printf 'server %s max_fails=1 fail_timeout=5s;\n' "$u" ;;
    esac
  done >"$tmp"
  chmod 644 "$tmp"
  mv "$tmp" "$dir/upstreams.conf"
}

# public-listen.conf and redirect.conf: plain HTTP on PORT, or (CERT and KEY given) HTTPS on
# TLS_PORT from tls.conf.in with PORT answering ACME and redirecting the rest. The ports are
# the ones `up` chose (DIR/ports).
write_listen() {
  local dir=$1 cert=${2:-} key=${3:-} port tls_port
  read -r port tls_port <"$dir/ports"
  if [ -z "$cert" ]; then
    printf 'listen 127.0.0.1:%s;\n' "$port" >"$dir/public-listen.conf"
    : >"$dir/redirect.conf"
    return 0
  fi
  if [ ! -r "$cert" ] || [ ! -r "$key" ]; then
    die "cannot read the certificate $cert or its key $key"
  fi
  [ -f "$tls_template" ] || die "no TLS template at $tls_template"
  sed -e "s|@TLS_PORT@|$tls_port|g" -e "s|@TLS_CERT@|$cert|g" -e "s|@TLS_KEY@|$key|g" \
    "$tls_template" >"$dir/public-listen.conf"
  cat >"$dir/redirect.conf" <<CONF
server {
    listen 127.0.0.1:$port;
    location /.well-known/acme-challenge/ {
        root $dir/webroot;
        default_type text/plain;
    }
    location / {
        return 308 https://\$host:$tls_port\$request_uri;
    }
}
CONF
}

# Reload: the master reads the configuration again, starts new workers, and lets the old ones
# finish what they are doing before they exit. Wait for that, so the caller knows no request
# is served by the old configuration any more.
reload_and_wait() {
  local dir=$1 old w
  nginx_in "$dir" -t -q 2>"$dir/check.log" || die "nginx rejects the configuration: $(cat "$dir/check.log")"
  old=$(workers "$dir")
  kill -HUP "$(master_pid "$dir")"
  for _ in $(seq 600); do
    local gone=1
    for w in $old; do kill -0 "$w" 2>/dev/null && gone=0; done
    [ "$gone" = 1 ] && [ -n "$(workers "$dir")" ] && return 0
    sleep 0.05
  done
  die "nginx's old workers did not finish within 30 s"
}

cmd_up() {
  local dir=$1 port="" timeout=10 rate=10 burst=20 body=1048576 user_line="" status_port
  local cert="" key="" tls_port
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port=$2; shift 2 ;;
      --client-timeout) timeout=$2; shift 2 ;;
      --auth-rate) rate=$2; shift 2 ;;
      --auth-burst) burst=$2; shift 2 ;;
      --max-body) body=$2; shift 2 ;;
      --tls) cert=$(absolute "$2"); key=$(absolute "$3"); shift 3 ;;
      --*) die "unknown option $1" ;;
      *) break ;;
    esac
  done
  [ -f "$template" ] || die "no configuration template at $template"
  running "$dir" && die "nginx already runs from $dir (front.sh down $dir first)"
  mkdir -p "$dir/tmp" "$dir/webroot/.well-known/acme-challenge"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    # As root nginx's workers drop to an unprivileged user, which must reach the run directory.
    user_line="user $(id -un www-data >/dev/null 2>&1 && echo www-data || echo nobody);"
    chmod 755 "$dir" "$dir/webroot" "$dir/webroot/.well-known" "$dir/webroot/.well-known/acme-challenge"
  fi
  write_upstreams "$dir" "$@"
  local attempt
  for attempt in 1 2 3 4 5; do
    [ -n "$port" ] && [ "$attempt" -gt 1 ] && die "port $port is taken"
    local p=${port:-$(free_port)}
    status_port=$(free_port)
    tls_port=$(free_port)
    echo "$p $tls_port" >"$dir/ports"
    write_listen "$dir" "$cert" "$key"
    sed -e "s|@RUN@|$dir|g" -e "s|@PORT@|$p|g" -e "s|@STATUS_PORT@|$status_port|g" \
      -e "s|@TLS_PORT@|$tls_port|g" \
      -e "s|@CLIENT_TIMEOUT@|$timeout|g" -e "s|@AUTH_RATE@|$rate|g" -e "s|@AUTH_BURST@|$burst|g" \
      -e "s|@MAX_BODY_BYTES@|$body|g" -e "s|@USER_LINE@|$user_line|g" "$template" >"$dir/nginx.conf"
    nginx_in "$dir" -t -q 2>"$dir/check.log" || die "nginx rejects the configuration: $(cat "$dir/check.log")"
    : >"$dir/error.log"
    : >"$dir/access.log" # a new front, a new log: what it served is what it shows
    if nginx_in "$dir" 2>>"$dir/error.log"; then
      for _ in $(seq 100); do
        port_in_use "$p" && running "$dir" && {
          echo "front-url http://127.0.0.1:$p"
          echo "https-url https://127.0.0.1:$tls_port"
          echo "status-url http://127.0.0.1:$status_port/stub_status"
          return 0
        }
        sleep 0.05
      done
    fi
    grep -q "Address already in use" "$dir/error.log" || die "nginx did not start: $(tail -5 "$dir/error.log")"
  done
  die "no free port after 5 tries"
}

cmd_set() {
  local dir=$1
  shift
  running "$dir" || die "no nginx runs from $dir"
  write_upstreams "$dir" "$@"
  reload_and_wait "$dir"
}

cmd_tls() {
  local dir=$1 cert key
  running "$dir" || die "no nginx runs from $dir"
  cert=$(absolute "$2") key=$(absolute "$3")
  write_listen "$dir" "$cert" "$key"
  reload_and_wait "$dir"
}

cmd_down() {
  local dir=$1 p
  running "$dir" || return 0
  p=$(master_pid "$dir")
  kill -QUIT "$p"
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
  kill -TERM "$p" 2>/dev/null || true
  echo "front: nginx did not stop within 10 s; sent SIGTERM" >&2
}

[ $# -ge 2 ] || usage
cmd=$1
shift
set -- "$(absolute "$1")" "${@:2}" # nginx -p takes the run directory as the root of every path
case "$cmd" in
  up) cmd_up "$@" ;;
  set) cmd_set "$@" ;;
  tls) [ $# -eq 3 ] || usage; cmd_tls "$@" ;;
  reload) running "$1" || die "no nginx runs from $1"; reload_and_wait "$1" ;;
  down) cmd_down "$1" ;;
  check) nginx_in "$1" -t ;;
  *) usage ;;
esac
