#!/usr/bin/env bash
# Make a local PostgreSQL server available for the catalog tests and print its admin URL.
# Installs Debian's postgresql when missing (needs root), starts the newest cluster, and creates a
# role `pixseek` (password `pixseek`, may create databases) on 127.0.0.1. The tests create one
# database per test from this URL and drop it afterwards.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
    pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>/dev/null || true  # already running is fine
for _ in $(seq 30); do
    su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
su postgres -c "psql -qAt" >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pixseek') THEN
    CREATE ROLE pixseek LOGIN PASSWORD 'pixseek' CREATEDB;
  END IF;
END $$;
SQL
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
echo "postgresql+psycopg://pixseek:pixseek@127.0.0.1:${port}/postgres"
