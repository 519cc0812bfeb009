#!/usr/bin/env bash
# Run the example items-sync DAG with `airflow dags test` against the local Zoho Invoice emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin
demo=$root/.demo
rm -rf "$demo"
mkdir -p "$demo"

export AIRFLOW_HOME=$demo/airflow
export AIRFLOW__CORE__DAGS_FOLDER=$root/example_dags
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW_VAR_ZOHO_INVOICE_OUTPUT_DIR=$demo/output

echo "==> Preparing a SQLite Airflow metadata database in $AIRFLOW_HOME"
"$bin/airflow" db migrate > "$demo/db-migrate.log" 2>&1 || { cat "$demo/db-migrate.log"; exit 1; }

echo "==> Starting the Zoho Invoice emulator (1234 items)"
"$bin/python" -m airflow_provider_zoho_invoice.emulator --port 0 --port-file "$demo/emulator.port" \
    --items 1234 > "$demo/emulator.log" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$demo/emulator.port" ] && break; sleep 0.1; done
[ -s "$demo/emulator.port" ] || { echo "the emulator did not start:"; cat "$demo/emulator.log"; exit 1; }
url="http://127.0.0.1:$(cat "$demo/emulator.port")"
echo "    listening on $url"

export AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT="{\"conn_type\": \"zoho_invoice\", \"host\": \"$url\", \"password\": \"emulator-authtoken\", \"extra\": {\"apikey\": \"emulator-apikey\", \"accounts_url\": \"$url\"}}"

echo "==> airflow dags test example_zoho_invoice_items_sync 2026-01-01"
if ! "$bin/airflow" dags test example_zoho_invoice_items_sync 2026-01-01 > "$demo/dag-test.log" 2>&1; then
    tail -n 60 "$demo/dag-test.log"
    echo "The DAG run failed; full log: $demo/dag-test.log"
    exit 1
fi
grep -q "state=success" "$demo/dag-test.log" || { tail -n 60 "$demo/dag-test.log"; echo "The DAG run did not succeed"; exit 1; }

output=$demo/output/items/2026-01-01.jsonl
echo "==> The DAG run succeeded"
grep -o "Zoho Invoice catalogue: .*" "$demo/dag-test.log" | head -n 1 | sed 's/^/    /'
echo "    file:  $output"
echo "    lines: $(wc -l < "$output")"
echo "    first two items:"
head -n 2 "$output" | sed 's/^/      /'
echo "    (full log: $demo/dag-test.log)"
