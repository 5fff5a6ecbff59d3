#!/usr/bin/env bash
# https-suites.sh — weeks 1–8's black-box suites through the front, over HTTPS: what a client
# of the deployed service sees. Two stage-9 instances on a fresh database behind nginx with a
# certificate from a local CA (tls-selfsigned.sh), then shared/scripts/remote-suites.sh against
# https://localhost:PORT with TK_CA_FILE trusting that CA. `make test-front-https` runs it.
#
# usage: https-suites.sh TASKD OUT_DIR API_BIN...   (from the repository's root, with the
#        services' environment loaded, DATABASE_URL naming a fresh database, and TASKD_ENV the
#        suites' settings for a server, "NAME=value ...", as `make` gives them)
# The suites register many users from one address, so the instances allow that
# (REGISTER_IP_MAX_ATTEMPTS) and nginx's /auth/ rate limit is raised for the run; everything
# else is the front as `make run-front` runs it.
set -euo pipefail
taskd=$1 out=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=shared/scripts/ports.sh source-path=SCRIPTDIR/../../..
. "$here/../../../shared/scripts/ports.sh"
# shellcheck source=weeks/09-nginx-monitoring/scratch-run.sh source-path=SCRIPTDIR/../../..
. "$here/../scratch-run.sh"
scratch_run taskd-https
cleanup() {
  bash "$here/front.sh" down "$run/front" || true
  scratch_stop
  rm -rf "$run"
}
trap cleanup EXIT

ports=()
for i in 1 2; do
  scratch_taskd "$taskd" "taskd-$i" TRUSTED_PROXIES=127.0.0.1 REGISTER_IP_MAX_ATTEMPTS=1000000
  ports+=("127.0.0.1:$taskd_port")
done
bash "$here/tls-selfsigned.sh" "$run/tls" localhost 2>/dev/null
bash "$here/front.sh" up "$run/front" --auth-rate 10000 --auth-burst 10000 \
  --tls "$run/tls/cert.pem" "$run/tls/key.pem" "${ports[@]}" >/dev/null
read -r _ tls_port <"$run/front/ports"
echo "https-suites: weeks' suites through nginx at https://localhost:$tls_port (instances ${ports[*]})"
TK_CA_FILE="$run/tls/ca.pem" bash shared/scripts/remote-suites.sh "https://localhost:$tls_port" \
  front-https "$out" "$@"
