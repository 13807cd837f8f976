#!/usr/bin/env bash
# Start (or stop) a throwaway PostgreSQL server on 127.0.0.1 for the tests.
#   scripts/postgres.sh start   -> prints the URL to export as HYPERKNOB_TEST_POSTGRES_URL
#   scripts/postgres.sh stop
# Installs PostgreSQL from the Debian packages when it is missing (needs root).
set -euo pipefail
PORT="${HYPERKNOB_PG_PORT:-55432}"
DATA="${HYPERKNOB_PG_DIR:-/tmp/hyperknob-pg-$PORT}"
find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-start}" in
  start)
    if ! BIN=$(find_bin); then
      echo "installing PostgreSQL from the Debian packages..." >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
      BIN=$(find_bin)
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
      mkdir -p "$DATA"
      [ "$(id -u)" = 0 ] && chown postgres "$DATA"
      as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust >/dev/null
    fi
    if ! as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$DATA/log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off" start >&2
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    ;;
  stop)
    BIN=$(find_bin) || exit 0
    [ -f "$DATA/PG_VERSION" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
