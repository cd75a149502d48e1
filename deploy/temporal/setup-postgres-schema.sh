#!/bin/sh
# Creates Temporal's two PostgreSQL databases (temporal, temporal_visibility) and brings their
# schemas up to the server's version. Runs once in the temporal-schema container of
# docker-compose.yml (temporalio/admin-tools) before the server starts, as temporalio/
# samples-server's compose setup does; safe to run again: a database or schema that already
# exists is left as it is, and update-schema only applies what is missing.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMAS="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"
export SQL_PASSWORD

until nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"; do
    echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}..."
    sleep 2
done

sql_tool() {
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
    database="${pair%%:*}"
    schema="${pair##*:}"
    sql_tool --db "$database" create || echo "database ${database} exists already"
    sql_tool --db "$database" setup-schema -v 0.0 || echo "schema of ${database} set up already"
    sql_tool --db "$database" update-schema -d "${SCHEMAS}/${schema}/versioned"
done
echo "Temporal's PostgreSQL schemas are up to date."
