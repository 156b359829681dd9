#!/usr/bin/env bash
# How long a newcomer waits, measured from a fresh clone of this repository's HEAD (issue 17):
#   npm ci; the first `npm start` and a restart (embedded PGlite) to /ready; the production start
#   (`node dist/src/server.js`, DATABASE_URL, migrated database) to /ready; and `npm test`, embedded
#   and on PostgreSQL. Prints one line per figure with the machine's load average at that moment.
#
#   scripts/timing.sh                 # everything (the two test runs take minutes)
#   scripts/timing.sh --no-tests      # install and starts only
#   PG=postgres://postgres@127.0.0.1:5432 scripts/timing.sh   # the PostgreSQL server to use
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
tests=1; [ "${1:-}" = "--no-tests" ] && tests=0

work="$(mktemp -d /tmp/gar-timing.XXXXXX)"
db="garb_timing_$$"
cleanup() {
  [ -n "${server:-}" ] && kill -TERM -- "-$server" 2>/dev/null
  (cd "$work/clone" 2>/dev/null && node -e "
const pg = require('pg'); const c = new pg.Client({ connectionString: '$PG/postgres' });
(async () => { await c.connect();
  // The test run's template databases are named after its database.
  const r = await c.query(\"select datname from pg_database where datname = '$db' or datname like '${db}_tpl_%'\");
  for (const { datname } of r.rows) await c.query('drop database if exists \"' + datname + '\" with (force)');
})().then(() => c.end(), () => c.end());" 2>/dev/null)
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
report() { printf '%-44s %8.2f s   (load %s)\n' "$1" "$2" "$(load)"; }

# Seconds from launching "$@" (in its own process group) to /ready answering 200 on $port; stops it.
time_to_ready() {
  local port=$1; shift
  local started; started=$(now)
  PORT=$port setsid "$@" >"$work/server-$port.log" 2>&1 &
  server=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/ready"; do
    if ! kill -0 "$server" 2>/dev/null; then echo "the server stopped; its log:" >&2; tail -20 "$work/server-$port.log" >&2; return 1; fi
    sleep 0.02
  done
  local ready; ready=$(now)
  kill -TERM -- "-$server" 2>/dev/null; wait "$server" 2>/dev/null; server=
  echo "$ready - $started" | bc
}

echo "gar-broker timing, $(date -u +%FT%TZ), $(nproc) cores, node $(node --version), HEAD $(git -C "$repo" rev-parse --short HEAD)"
git clone -q "$repo" "$work/clone" && cd "$work/clone" || exit 1

t0=$(now); npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || { tail -20 "$work/npm-ci.log"; exit 1; }
report "npm ci (with prepare)" "$(echo "$(now) - $t0" | bc)"

export DATA_DIR="$work/data"
report "first npm start → /ready (embedded)" "$(time_to_ready 3411 npm start)" || exit 1
report "npm start again → /ready (embedded)" "$(time_to_ready 3411 npm start)" || exit 1

# Production: built, PostgreSQL already migrated, secrets from files as an operator would mount them.
npm run -s build >"$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 1; }
node -e "
const pg = require('pg'); const c = new pg.Client({ connectionString: '$PG/postgres' });
c.connect().then(() => c.query('create database $db')).then(() => c.end());" || exit 1
node -e "
const fs = require('fs'); const s = JSON.parse(fs.readFileSync(process.env.DATA_DIR + '/dev-secrets.json', 'utf8'));
const names = { jwtSecret: 'JWT_SECRET', idoSecret: 'IDO_SECRET', samlSigningKey: 'SAML_SIGNING_KEY', samlSigningCert: 'SAML_SIGNING_CERT' };
for (const [k, v] of Object.entries(s)) fs.writeFileSync('$work/' + names[k], v);"
prod_env=(env -u DATA_DIR DATABASE_URL="$PG/$db" JWT_SECRET_FILE="$work/JWT_SECRET" IDO_SECRET_FILE="$work/IDO_SECRET"
  SAML_SIGNING_KEY_FILE="$work/SAML_SIGNING_KEY" SAML_SIGNING_CERT_FILE="$work/SAML_SIGNING_CERT" BROKER_BASE_URL=http://127.0.0.1:3412)
"${prod_env[@]}" node dist/scripts/migrate.js >"$work/migrate.log" 2>&1 || { tail -20 "$work/migrate.log"; exit 1; }
report "production start → /ready (PostgreSQL)" "$(time_to_ready 3412 "${prod_env[@]}" node dist/src/server.js)" || exit 1

if [ "$tests" = 1 ]; then
  unset DATA_DIR
  t0=$(now); env -u DATABASE_URL npm test >"$work/test-embedded.log" 2>&1; rc=$?
  report "npm test (embedded), exit $rc" "$(echo "$(now) - $t0" | bc)"
  t0=$(now); DATABASE_URL="$PG/$db" npm test >"$work/test-pg.log" 2>&1; rc2=$?
  report "npm test (PostgreSQL), exit $rc2" "$(echo "$(now) - $t0" | bc)"
  [ "$rc" = 0 ] && [ "$rc2" = 0 ] || { grep -E '^\s*not ok' "$work"/test-*.log | head -20; exit 1; }
fi
