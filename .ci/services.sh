#!/usr/bin/env bash
# Private PostgreSQL, Redis and MariaDB servers for racecount's database tests and benchmarks:
# started from Debian's packages in a temporary directory (no system service), listening on Unix
# sockets there and, for TLS, on free ports of 127.0.0.1 only; stopped again.
#
#   eval "$(.ci/services.sh start)"    # prints the exports: RACECOUNT_TEST_POSTGRES,
#                                      # RACECOUNT_TEST_REDIS, RACECOUNT_TEST_MYSQL (sockets);
#                                      # RACECOUNT_TEST_POSTGRES_TLS, RACECOUNT_TEST_REDIS_TLS,
#                                      # RACECOUNT_TEST_MYSQL_TLS (127.0.0.1, TLS, verified);
#                                      # RACECOUNT_TEST_CA (the CA's certificate),
#                                      # RACECOUNT_SERVICES_DIR
#   .ci/services.sh stop               # stops the servers of $RACECOUNT_SERVICES_DIR, deletes it
#   .ci/services.sh install            # apt-get install postgresql redis-server mariadb-server
#                                      # (as root)
#
#   .ci/services.sh start --listen ADDR  # also listen on ADDR (a bridge's address, for hosts in
#                                      # network namespaces): PostgreSQL on its port, Redis on a
#                                      # plain TCP port; exports RACECOUNT_TEST_POSTGRES_AT and
#                                      # RACECOUNT_TEST_REDIS_AT, trusting ADDR's /24 only
#
# TLS: a CA and a server certificate (for localhost and 127.0.0.1) made with openssl in the
# temporary directory; every server uses them. start --owner PID also stops the servers once
# process PID has gone (the test suite uses it when it starts the servers itself). Run as root,
# PostgreSQL runs as the user postgres and MariaDB as mysql (both refuse root); otherwise as
# you. The servers trust local connections (MariaDB: the user racecount, no password; PostgreSQL:
# every role but racecount_test_pw over TCP, which gives its password) and keep nothing: fsync
# is off, Redis saves nothing, MariaDB flushes its log once a second.
set -euo pipefail

say() { echo "services.sh: $*" >&2; }

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

missing() {
    local what=()
    pg_bin >/dev/null || what+=(postgresql)
    command -v redis-server >/dev/null || what+=(redis-server)
    command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null \
        || what+=(mariadb-server)
    command -v openssl >/dev/null || what+=(openssl)
    echo "${what[@]:-}"
}

install() {
    local need
    need=$(missing)
    if [ -z "$need" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "not installed: $need; run: sudo apt-get install -y $need"
        exit 1
    fi
    say "installing $need from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >&2
}

# Runs a command as the user PostgreSQL runs as.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Runs a command as the user MariaDB runs as.
as_mysql() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u mysql -- "$@"
    else
        "$@"
    fi
}

# A TCP port of 127.0.0.1 that nothing listens on (a server started right after takes it).
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if [ -z "$(ss -Htln "sport = :$port")" ]; then
            echo "$port"
            return 0
        fi
    done
}

# A CA and a server certificate signed by it, valid for localhost and 127.0.0.1, in $1/tls.
make_certificates() {
    local tls=$1/tls
    mkdir "$tls"
    (
        cd "$tls"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout ca.key -out ca.crt -subj "/CN=racecount test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout server.key -out server.csr -subj "/CN=localhost"
        printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
            -extfile server.ext -out server.crt
    ) >"$1/openssl.log" 2>&1 || { say "openssl failed:"; cat "$1/openssl.log" >&2; exit 1; }
    chmod 644 "$tls"/*.crt
}

# A copy of the server key that only `owner` (a user name, or "" for you) can read, as
# PostgreSQL demands.
key_for() {
    local owner=$1 to=$2
    cp "$RACECOUNT_TLS/server.key" "$to"
    chmod 600 "$to"
    if [ -n "$owner" ] && [ "$(id -u)" = 0 ]; then
        chown "$owner": "$to"
    fi
}

start_mariadb() {
    local dir=$1 port=$2 my=$1/mysql
    mkdir "$my"
    if [ "$(id -u)" = 0 ]; then
        chown mysql: "$my"
    fi
    local user=()
    [ "$(id -u)" = 0 ] && user=(--user=mysql)
    key_for mysql "$my/server.key"
    cat >"$my/init.sql" <<'SQL'
CREATE DATABASE IF NOT EXISTS racecount;
CREATE USER IF NOT EXISTS 'racecount'@'localhost';
CREATE USER IF NOT EXISTS 'racecount'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'racecount'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'racecount'@'127.0.0.1' WITH GRANT OPTION;
SQL
    chmod 644 "$my/init.sql"
    mariadb-install-db --no-defaults "${user[@]}" --datadir="$my/data" --skip-test-db \
        --auth-root-authentication-method=socket >"$dir/mariadb-install.log" 2>&1 || {
        say "mariadb-install-db failed:"; cat "$dir/mariadb-install.log" >&2; exit 1; }
    # --no-defaults: nothing of /etc/mysql; detached, its output in its own log, so that the
    # caller's $(...) does not wait for it.
    setsid mariadbd --no-defaults "${user[@]}" --datadir="$my/data" \
        --socket="$my/mysqld.sock" --port="$port" --bind-address=127.0.0.1 \
        --pid-file="$my/mysqld.pid" --log-error="$my/log" --skip-name-resolve --skip-log-bin \
        --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-buffer-pool-size=64M \
        --max-connections=400 --performance-schema=OFF --init-file="$my/init.sql" \
        --ssl-ca="$RACECOUNT_TLS/ca.crt" --ssl-cert="$RACECOUNT_TLS/server.crt" \
        --ssl-key="$my/server.key" >/dev/null 2>&1 </dev/null &
    local i
    for i in $(seq 300); do
        mariadb --no-defaults -u racecount --socket="$my/mysqld.sock" -e 'SELECT 1' \
            >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    say "mariadb did not start:"; cat "$my/log" >&2; exit 1
}

start() {
    local owner="" listen=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --owner) owner=$2; shift 2 ;;
            --listen) listen=$2; shift 2 ;;
            *) say "start: unknown option $1"; exit 2 ;;
        esac
    done
    local need
    need=$(missing)
    if [ -n "$need" ]; then
        say "not installed: $need; run .ci/services.sh install (as root) or apt-get install -y $need"
        exit 1
    fi
    local dir bin
    dir=$(mktemp -d "${TMPDIR:-/tmp}/servers-for-racecount.XXXXXX")
    chmod 755 "$dir"
    bin=$(pg_bin)
    make_certificates "$dir"
    RACECOUNT_TLS=$dir/tls
    local pg_port redis_port mysql_port
    pg_port=$(free_port)
    mkdir "$dir/pg"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir/pg"
    fi
    key_for postgres "$dir/pg/server.key"
    as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust --no-sync >"$dir/initdb.log" 2>&1 || {
        say "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
    # One role must give its password (over TCP), so that the tests can see racecount hand it
    # over from the URL, PGPASSWORD and .pgpass; every other connection is trusted.
    as_pg sed -i '1i host all racecount_test_pw 127.0.0.1/32 scram-sha-256' "$dir/pg/data/pg_hba.conf"
    local listen_addresses=127.0.0.1
    if [ -n "$listen" ]; then
        listen_addresses="127.0.0.1,$listen"
        echo "host all all ${listen%.*}.0/24 trust" | as_pg tee -a "$dir/pg/data/pg_hba.conf" >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w -t 60 start \
        -o "-c listen_addresses=$listen_addresses -c port=$pg_port -c unix_socket_directories='$dir/pg' \
            -c fsync=off -c max_connections=400 -c shared_buffers=64MB -c ssl=on \
            -c ssl_cert_file='$RACECOUNT_TLS/server.crt' -c ssl_key_file='$dir/pg/server.key' \
            -c ssl_ca_file='$RACECOUNT_TLS/ca.crt'" >/dev/null || {
        say "postgres did not start:"; cat "$dir/pg/log" >&2; exit 1; }
    redis_port=$(free_port)
    local plain_port=0 bind=127.0.0.1
    if [ -n "$listen" ]; then
        plain_port=$(free_port)
        bind="127.0.0.1 $listen"
    fi
    redis-server --port "$plain_port" --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --bind "$bind" --protected-mode no --tls-port "$redis_port" --tls-cert-file "$RACECOUNT_TLS/server.crt" \
        --tls-key-file "$RACECOUNT_TLS/server.key" --tls-ca-cert-file "$RACECOUNT_TLS/ca.crt" \
        --tls-auth-clients no \
        --save "" --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --dir "$dir" >/dev/null
    local i
    for i in $(seq 100); do
        [ -S "$dir/redis.sock" ] && break
        sleep 0.1
    done
    [ -S "$dir/redis.sock" ] || { say "redis did not start:"; cat "$dir/redis.log" >&2; exit 1; }
    mysql_port=$(free_port)
    start_mariadb "$dir" "$mysql_port"
    if [ -n "$owner" ]; then
        # Stops the servers once the owner is gone (detached: survives this script).
        setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; \
            RACECOUNT_SERVICES_DIR='$dir' '$0' stop" >/dev/null 2>&1 < /dev/null &
    fi
    echo "export RACECOUNT_SERVICES_DIR='$dir'"
    local ca=$RACECOUNT_TLS/ca.crt
    echo "export RACECOUNT_TEST_POSTGRES='postgres://postgres@/postgres?host=$dir/pg&port=$pg_port'"
    echo "export RACECOUNT_TEST_REDIS='redis+unix://$dir/redis.sock'"
    echo "export RACECOUNT_TEST_MYSQL='mysql://racecount@localhost/racecount?socket=$dir/mysql/mysqld.sock'"
    echo "export RACECOUNT_TEST_CA='$ca'"
    echo "export RACECOUNT_TEST_POSTGRES_TLS='postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=verify-full&sslrootcert=$ca'"
    echo "export RACECOUNT_TEST_REDIS_TLS='rediss://127.0.0.1:$redis_port?cacert=$ca'"
    if [ -n "$listen" ]; then
        echo "export RACECOUNT_TEST_POSTGRES_AT='postgres://postgres@$listen:$pg_port/postgres'"
        echo "export RACECOUNT_TEST_REDIS_AT='redis://$listen:$plain_port'"
    fi
    echo "export RACECOUNT_TEST_MYSQL_TLS='mysql://racecount@127.0.0.1:$mysql_port/racecount?ssl-mode=verify_identity&ssl-ca=$ca'"
}

stop() {
    local dir=${RACECOUNT_SERVICES_DIR:-}
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        return 0
    fi
    local bin
    if [ -d "$dir/pg/data" ] && bin=$(pg_bin); then
        as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    if [ -f "$dir/mysql/mysqld.pid" ]; then
        local pid i
        pid=$(cat "$dir/mysql/mysqld.pid")
        kill "$pid" 2>/dev/null || true
        # Its files go with the directory: wait (up to 10 s) until it has let go of them.
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    install) install ;;
    *) say "usage: $0 start [--owner PID] | stop | install"; exit 2 ;;
esac
