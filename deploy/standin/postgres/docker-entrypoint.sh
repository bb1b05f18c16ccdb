#!/usr/bin/env bash
# What the official postgres image's entrypoint does on a first start, for this stand-in: initdb
# with POSTGRES_USER and POSTGRES_PASSWORD, the files of /docker-entrypoint-initdb.d run by a
# temporary server that listens on the socket only, then the server itself on every address,
# with password (scram-sha-256) logins over TCP. Later starts find PG_VERSION and skip all that.
set -euo pipefail

if [ "${1:-}" != postgres ]; then
  exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD is not set: the superuser would have no password" >&2
    exit 1
  fi
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
         --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
         ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"

  pg_ctl --pgdata="$PGDATA" --wait --options="-c listen_addresses='' -p 5432" start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql --no-psqlrc --dbname=postgres --set ON_ERROR_STOP=1 \
         --command="create database \"$POSTGRES_DB\""
  fi
  for file in /docker-entrypoint-initdb.d/*; do
    [ -e "$file" ] || continue
    case "$file" in
      *.sh)  echo "running $file"; . "$file" ;;
      *.sql) echo "running $file"; psql --no-psqlrc --set ON_ERROR_STOP=1 --file="$file" ;;
      *)     echo "ignoring $file" ;;
    esac
  done
  pg_ctl --pgdata="$PGDATA" --wait --mode=fast stop >/dev/null
  echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
