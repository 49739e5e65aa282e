#!/bin/sh
# The TLS files of the compose district (deploy/compose.yaml, service `certs`), made once:
# a CA of its own, the broker's certificate for the host name `rabbitmq` (what the
# stations connect to) and one client certificate the stations show. Made only when
# missing, so the broker and the stations keep theirs across restarts.
#
#   /tls/broker   ca.pem, server.pem, server.key   (the broker-tls volume, for RabbitMQ)
#   /tls/station  ca.pem, client.pem, client.key   (the station-tls volume, read-only in
#                                                   every station container)
#
# For trying Tongban out. On real machines the district's CA signs the broker's
# certificate and a client certificate per station PC, and its key never sits beside them.
set -eu
umask 077
TLS_DIR="${TLS_DIR:-/tls}"
BROKER="$TLS_DIR/broker"
STATION="$TLS_DIR/station"
if [ -s "$STATION/client.pem" ] && [ -s "$BROKER/server.pem" ]; then
  echo "TLS files already made"
  exit 0
fi
work=$(mktemp -d)
cd "$work"
openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/O=Tongban compose/CN=Tongban district CA" \
  -keyout ca.key -out ca.pem
openssl req -newkey rsa:3072 -nodes -subj "/O=Tongban compose/CN=rabbitmq" -keyout server.key -out server.csr
printf 'subjectAltName=DNS:rabbitmq,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile server.ext \
  -out server.pem
openssl req -newkey rsa:3072 -nodes -subj "/O=Tongban compose/CN=tongban stations" -keyout client.key \
  -out client.csr
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile client.ext \
  -out client.pem
mkdir -p "$BROKER" "$STATION"
cp ca.pem server.pem server.key "$BROKER/"
cp ca.pem client.pem client.key "$STATION/"
chmod 644 "$BROKER/ca.pem" "$BROKER/server.pem" "$STATION/ca.pem" "$STATION/client.pem"
chmod 600 "$BROKER/server.key" "$STATION/client.key"
chmod 755 "$BROKER" "$STATION"
# each key readable only by the user that needs it: RabbitMQ's image runs as uid 999,
# the stations as the image's `tongban` user
chown 999:999 "$BROKER/server.key"
chown tongban:tongban "$STATION/client.key"
cd /
rm -rf "$work"
echo "TLS files made"
