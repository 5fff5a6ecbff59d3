#!/usr/bin/env bash
# bluegreen.sh — `make deploy-staging`, `make rollback`, `make slots`: a blue/green deploy to the
# week-5 server (staging), from this machine. The work happens on the server, in slots.sh, which
# travels over SSH on stdin and runs there as root; this side copies the package and checks the
# result from outside, through the public port, as a user would.
#
# usage: bluegreen.sh [--server-env FILE] deploy PACKAGE.deb
#        bluegreen.sh [--server-env FILE] rollback
#        bluegreen.sh [--server-env FILE] status
#   --server-env  the server's address and key (default .run/server/server.env, from make server-up):
#                 SERVER_USER, SERVER_SSH_OPTS (the key, the port), SERVER_HTTP_PORT, and
#                 SERVER_HOST (default 127.0.0.1: the week-5 server's published ports)
# Environment: SMOKE=0 skips the smoke test on the new slot (the tests' load runs without it).
# Exit status: slots.sh's (0 done; 1 the release was refused and the live slot is unchanged;
# 2 bad usage or a broken server); 3 when there is no server.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
server_env="$repo/.run/server/server.env"

usage() { echo "usage: bluegreen.sh [--server-env FILE] deploy PACKAGE.deb | rollback | status" >&2; exit 2; }
[ "${1:-}" != --server-env ] || { server_env=${2:?}; shift 2; }
[ $# -ge 1 ] || usage
[ -s "$server_env" ] || { echo "bluegreen: no server: $server_env is missing (make server-up, then make deploy-server)" >&2; exit 3; }
# shellcheck disable=SC1090 # written by server.sh up
. "$server_env"
: "${SERVER_USER:?} ${SERVER_SSH_OPTS:?} ${SERVER_HTTP_PORT:?}"
host=${SERVER_HOST:-127.0.0.1}

# on_server ARGS...: slots.sh ARGS on the server, as root.
on_server() {
  # SC2086: SERVER_SSH_OPTS is a list of words; SC2029: the arguments are meant to be expanded here.
  # shellcheck disable=SC2086,SC2029
  ssh $SERVER_SSH_OPTS "$SERVER_USER@$host" "sudo bash -s -- $(printf '%q ' "$@")" <"$here/slots.sh"
}

case $1 in
  deploy)
    deb=${2:-}
    [ -s "$deb" ] || { echo "bluegreen: no package '${deb}' (make package)" >&2; exit 2; }
    version=$(dpkg-deb -f "$deb" Version)
    echo "bluegreen: deploying taskd $version to $host (public port $SERVER_HTTP_PORT)"
    # shellcheck disable=SC2086,SC2029
    ssh $SERVER_SSH_OPTS "$SERVER_USER@$host" \
      "sudo install -d -m 0700 /var/lib/taskd-deploy && sudo sh -c 'cat > /var/lib/taskd-deploy/incoming.deb'" <"$deb"
    rc=0
    on_server deploy /var/lib/taskd-deploy/incoming.deb "${SMOKE:-1}" || rc=$?
    ;;
  rollback)
    rc=0
    on_server rollback || rc=$?
    ;;
  status)
    on_server status
    exit 0
    ;;
  *) usage ;;
esac
# Whatever happened, the public port must answer: say so when it does not.
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$host:$SERVER_HTTP_PORT/ready" || true)
if [ "$code" = 200 ]; then
  echo "bluegreen: the public port answers /ready 200"
else
  echo "bluegreen: the public port answers /ready ${code:-nothing}: NOT SERVING (make slots)" >&2
  [ "$rc" -ne 0 ] || rc=2
fi
exit "$rc"
