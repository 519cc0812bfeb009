#!/usr/bin/env bash
# Run the example DAGs with `airflow dags test` against the local Zoho Invoice emulator:
# the API v3 (OAuth) extraction, then the legacy items sync.
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

echo "==> Starting the Zoho Invoice emulator (1234 legacy items, 750 v3 records per resource)"
"$bin/python" -m airflow_provider_zoho_invoice.emulator --port 0 --port-file "$demo/emulator.port" \
    --items 1234 --records 750 > "$demo/emulator.log" 2>&1 &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$demo/emulator.port" ] && break; sleep 0.1; done
[ -s "$demo/emulator.port" ] || { echo "the emulator did not start:"; cat "$demo/emulator.log"; exit 1; }
url="http://127.0.0.1:$(cat "$demo/emulator.port")"
echo "    listening on $url"

run_dag() {  # dag id, log name, [conf]
    echo "==> airflow dags test $1 ${3:+--conf '$3'}"
    if ! "$bin/airflow" dags test "$1" ${3:+--conf "$3"} > "$demo/$2.log" 2>&1; then
        tail -n 60 "$demo/$2.log"
        echo "The DAG run failed; full log: $demo/$2.log"
        exit 1
    fi
    grep -q "state=success" "$demo/$2.log" || { tail -n 60 "$demo/$2.log"; echo "The DAG run did not succeed"; exit 1; }
}

interval() {  # start hour, end hour (UTC, 2026-06-01): the conf of a run for that interval
    printf '{"modified_since": "2026-06-01T%s:00:00+00:00", "modified_before": "2026-06-01T%s:00:00+00:00"}' "$1" "$2"
}

# API v3 over OAuth 2.0: what every current Zoho account uses.
export AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT="{\"conn_type\": \"zoho_invoice_oauth\", \"login\": \"1000.EMULATORCLIENTID\", \"password\": \"emulator-client-secret\", \"extra\": {\"refresh_token\": \"1000.emulator-refresh-token\", \"accounts_url\": \"$url\", \"api_domain\": \"$url\"}}"
# Two consecutive hourly intervals, then an earlier one: each a run given its interval as conf.
run_dag example_zoho_invoice_v3_extract v3-hour-1 "$(interval 14 15)"
run_dag example_zoho_invoice_v3_extract v3-hour-2 "$(interval 15 16)"
run_dag example_zoho_invoice_v3_extract v3-backfill "$(interval 13 14)"
echo "==> The v3 hourly extractions succeeded"
for log in v3-hour-1 v3-hour-2 v3-backfill; do
    grep -o "Zoho Invoice extract \[.*" "$demo/$log.log" | head -n 1 | sed 's/ \[[a-z.]*\].*//; s/^/    /'
done
for resource in invoices contacts customerpayments; do
    for file in "$demo/output/$resource/"*.jsonl.gz; do
        echo "    $file: $(gzip -dc "$file" | wc -l) records"
    done
done
echo "    first invoice of the first interval:"
gzip -dc "$demo/output/invoices/2026-06-01T140000+0000.jsonl.gz" | sed -n '1s/^\(.\{300\}\).*/      \1 .../p'
run_dag example_zoho_invoice_v3_snapshot v3-snapshot
echo "==> The daily snapshot succeeded"
for file in "$demo/output/snapshots/"*/*.jsonl.gz; do
    echo "    $file: $(gzip -dc "$file" | wc -l) records"
done

# Writes: usage rows billed as invoices, then the same month again (a re-run bills nothing twice).
run_dag example_zoho_invoice_v3_billing v3-billing-1
run_dag example_zoho_invoice_v3_billing v3-billing-2
echo "==> The billing upserts succeeded"
for log in v3-billing-1 v3-billing-2; do
    grep -ao "Zoho Invoice billing for .*" "$demo/$log.log" | head -n 1 | sed 's/ \[[a-z.]*\].*//; s/^/    /'
done

# The legacy authtoken XML API.
export AIRFLOW_CONN_ZOHO_INVOICE_DEFAULT="{\"conn_type\": \"zoho_invoice\", \"host\": \"$url\", \"password\": \"emulator-authtoken\", \"extra\": {\"apikey\": \"emulator-apikey\", \"accounts_url\": \"$url\"}}"
run_dag example_zoho_invoice_items_sync dag-test
output=$(ls "$demo/output/items/"*.jsonl)
echo "==> The legacy items sync succeeded"
grep -o "Zoho Invoice catalogue: .*" "$demo/dag-test.log" | head -n 1 | sed 's/ \[.*//; s/^/    /'
echo "    file:  $output"
echo "    lines: $(wc -l < "$output")"
echo "    first two items:"
head -n 2 "$output" | sed 's/^/      /'
echo "    (full logs in $demo)"
