#!/usr/bin/env bash
# tls-selfsigned.sh — a local certificate authority and a certificate from it, with openssl:
# `make tls-selfsigned`, for learners who prefer it to ACME, and the key pair pebble's own API
# serves (acme.sh). Nothing here is trusted by anyone until they are told to trust ca.pem
# (curl --cacert, openssl s_client -CAfile): that is the difference from a public CA.
#
# usage: tls-selfsigned.sh DIR NAME...   writes DIR/ca.pem, DIR/ca.key (the authority, 10 years),
#                                         DIR/cert.pem (NAME's certificate, then the CA: a chain),
#                                         DIR/key.pem (its key), for every NAME plus 127.0.0.1
# Keys are P-256 (ECDSA): small, fast, and what every client since 2013 accepts.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '3,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
umask 077
san=""
for name in "$@"; do san+="DNS:$name,"; done
san+="IP:127.0.0.1"

if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/CN=taskd course local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
  -out "$dir/leaf.csr" -subj "/CN=$1" 2>/dev/null
ext=$(mktemp)
trap 'rm -f "$ext"' EXIT
printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$ext"
# 90 days, like Let's Encrypt's: short lives are why renewal must be automatic.
openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 90 -extfile "$ext" -out "$dir/leaf.pem" 2>/dev/null
cat "$dir/leaf.pem" "$dir/ca.pem" >"$dir/cert.pem"
rm -f "$dir/leaf.csr"
chmod 644 "$dir/ca.pem" "$dir/cert.pem" "$dir/leaf.pem"
echo "tls-selfsigned: $dir/cert.pem for $* (trust $dir/ca.pem to check it)" >&2
