#!/usr/bin/env bash
# Build the distributions, check their metadata, and install the wheel where nothing else is:
# a clean virtualenv, where `airflow providers list` must show the provider and both connection types.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$root/.venv/bin/python" -m pip install --quiet build twine
rm -rf dist
"$root/.venv/bin/python" -m build --outdir dist . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
"$root/.venv/bin/twine" check --strict dist/*
"$root/.venv/bin/python" - dist/*.whl <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
for wanted in ("airflow_provider_zoho_invoice/py.typed", "airflow_provider_zoho_invoice/emulator/app.py"):
    assert wanted in names, f"{wanted} is missing from the wheel"
PY

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet dist/*.whl
export AIRFLOW_HOME=$work/airflow
"$work/venv/bin/airflow" providers list --output plain > "$work/providers.txt"
grep -q "airflow-provider-zoho-invoice" "$work/providers.txt" || { cat "$work/providers.txt"; exit 1; }
"$work/venv/bin/airflow" providers hooks --output plain > "$work/hooks.txt"
for conn_type in zoho_invoice zoho_invoice_oauth; do
    grep -qw "$conn_type" "$work/hooks.txt" || { echo "connection type $conn_type not registered"; cat "$work/hooks.txt"; exit 1; }
done
echo "package: wheel and sdist built, metadata checked, provider and both connection types registered in a clean virtualenv"
