#!/usr/bin/env bash
# Build an offline wheelhouse for the appliance: every wheel needed to install Sealforge with
# `pip install --no-index --find-links dist/wheelhouse sealforge`, plus SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/wheelhouse
rm -rf "$out" && mkdir -p "$out"
python=${PYTHON:-.venv/bin/python}
"$python" -m pip wheel -q --wheel-dir "$out" torch==2.13.0
"$python" -m pip wheel -q --wheel-dir "$out" . ./offline_verify ./sdk
# Swagger UI and ReDoc assets (static files only), installed without deps as in the Makefile.
"$python" -m pip wheel -q --no-deps --wheel-dir "$out" drf-spectacular-sidecar==2026.10.1
(cd "$out" && sha256sum -- *.whl > SHA256SUMS)
echo "wheelhouse: $out ($(ls "$out"/*.whl | wc -l) wheels)"
