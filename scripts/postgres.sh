#!/usr/bin/env bash
# PostgreSQL for the tests: 127.0.0.1:$PGPORT (5432), user postgres with trust auth from 127.0.0.1, database test.
#
# Nothing is changed when a server there already lets postgres into database `test`. Otherwise, on Debian or
# Ubuntu as root (or with sudo): install the postgresql package if needed, create or start the cluster
# ($PG_CLUSTER, default main), let postgres in from 127.0.0.1 without a password, and create database test.
# Meant for CI and throw-away machines: trust auth is for a test server only.
set -euo pipefail
PGPORT=${PGPORT:-5432}
CLUSTER=${PG_CLUSTER:-main}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

usable() {  # the server answers and postgres may use database test
    command -v psql >/dev/null 2>&1 \
        && psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d test -w -qAt -c 'SELECT 1' >/dev/null 2>&1
}
answers() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p "$PGPORT"
}

if usable; then
    echo "postgres: 127.0.0.1:$PGPORT is ready (database test)"
    exit 0
fi

if ! answers; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
        echo "postgres: installing the postgresql package"
        $SUDO apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    fi
    VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
    HBA=/etc/postgresql/$VERSION/$CLUSTER/pg_hba.conf
    if [ ! -f "$HBA" ]; then
        $SUDO pg_createcluster --port "$PGPORT" "$VERSION" "$CLUSTER" >/dev/null
    fi
    # First matching line wins: put the trust line above the cluster's defaults.
    if ! $SUDO grep -q '^host all postgres 127.0.0.1/32 trust' "$HBA"; then
        $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust' "$HBA"
    fi
    if pg_lsclusters -h "$VERSION" "$CLUSTER" | grep -q online; then
        $SUDO pg_ctlcluster "$VERSION" "$CLUSTER" reload
    else
        $SUDO pg_ctlcluster "$VERSION" "$CLUSTER" start
    fi
    for _ in $(seq 30); do
        answers && break
        sleep 1
    done
fi
answers || { echo "postgres: nothing answers at 127.0.0.1:$PGPORT" >&2; exit 1; }

if ! psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -w -qAt -c 'SELECT 1' >/dev/null 2>&1; then
    echo "postgres: 127.0.0.1:$PGPORT answers but user postgres may not log in without a password" >&2
    echo "          (add 'host all postgres 127.0.0.1/32 trust' to that server's pg_hba.conf)" >&2
    exit 1
fi
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -w -qAt -c 'CREATE DATABASE test' >/dev/null
usable
echo "postgres: 127.0.0.1:$PGPORT is ready (database test created)"
