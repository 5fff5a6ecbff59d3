# shellcheck shell=bash
# ports.sh — sourced by the scripts that start a listener on a loopback port of their choosing
# (services.sh, server.sh, compose.sh, docs-check.sh, the benches): one way to pick that port.
#
#   port_in_use PORT   true when anything accepts connections on 127.0.0.1:PORT
#   port_taken PORT    true when any TCP socket on this machine has PORT as its local port, in any
#                      state (listening, connected, TIME_WAIT): such a port cannot be listened on
#   free_port          print a port below the kernel's ephemeral range that no socket has
#
# Why below the ephemeral range: every outgoing connection (a test's curl, taskd's to PostgreSQL)
# takes a local port from /proc/sys/net/ipv4/ip_local_port_range, and for a minute after it closes
# (TIME_WAIT) nobody can listen on that port. A "connect is refused, so it is free" check cannot
# see that, and on a machine busy with tests a random port in that range often fails to bind
# (a podman -p publish said "address already in use" that way in CI). Below the range only
# listeners take ports, and `ss` sees those. Someone may still take the port between this check
# and the bind, so a caller that can retries with another one.
# Functions only, no side effects: the caller keeps its own `set` options.

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_taken() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
  else
    port_in_use "$1"
  fi
}

free_port() {
  local low p _
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true)
  [[ "$low" =~ ^[0-9]+$ ]] && [ "$low" -gt 12000 ] || low=32768
  for _ in $(seq 1 200); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    port_taken "$p" || { echo "$p"; return 0; }
  done
  echo "no free loopback port found in 10000-$((low - 1))" >&2
  return 1
}
