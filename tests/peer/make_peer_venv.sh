#!/usr/bin/env bash
# Create the test-only peer environment (.venv-peers) that holds drizzlepac 3.11.0 and the
# STScI packages it pulls (stwcs, stsci.tools, stsci.skypac, ...). The peer tests in
# tests/peer/ run drizzlepac in this environment through a subprocess, so drizzlekit's own
# .venv keeps exactly its own versions and drizzlepac's import-time side effects (logging,
# warnings filters) never reach drizzlekit's process. Idempotent; called by .ci/run.
#   PEER_VENV   where to create it (default: .venv-peers in the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
PEER_VENV=${PEER_VENV:-.venv-peers}
PY=${PYTHON:-python3}
[ -x "$PEER_VENV/bin/python" ] || "$PY" -m venv "$PEER_VENV"
"$PEER_VENV/bin/python" -m pip install -q --upgrade pip
"$PEER_VENV/bin/python" -m pip install -q "drizzlepac==3.11.0" "stwcs==1.7.7"
"$PEER_VENV/bin/python" -c "import drizzlepac, stwcs; print('peer venv:', drizzlepac.__version__, stwcs.__version__)"
