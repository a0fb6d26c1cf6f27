#!/usr/bin/env bash
# Create .venv-jdaviz: jdaviz 5.0.2 (which pins bqplot<0.13) beside this checkout's
# drizzlekit[imviz], with pytest and jupyterlab, so that the widget tests and the Imviz
# round trip run on bqplot 0.12 (tests/test_jdaviz_compat.py runs them there through a
# subprocess; tests/ui/test_lab_jdaviz.py serves JupyterLab from it). drizzlekit's own
# .venv (bqplot 0.13 + bqplot-gl) is not touched. Idempotent; called by .ci/run.
#
# Resolution: plain pip takes minutes on this set of ~230 packages (its resolution alone,
# `pip install --dry-run jdaviz -e .[imviz]` in a fresh venv, took 3.5-5 min here), so the
# versions are pinned in tests/compat/jdaviz-constraints.txt and installed with uv
# (pip-installed into the venv itself): 22 s with a warm uv cache, 54 s with an empty one.
# JDAVIZ_RESOLVER=pip uses pip with the same constraints instead (199 s, no pip cache).
#   JDAVIZ_VENV      where to create it (default: .venv-jdaviz in the repository root)
#   JDAVIZ_RESOLVER  uv (default) or pip
#   PYTHON           the interpreter for the venv (default: python3; the pins are for 3.11)
set -euo pipefail
cd "$(dirname "$0")/../.."
JDAVIZ_VENV=${JDAVIZ_VENV:-.venv-jdaviz}
PY=${PYTHON:-python3}
CONSTRAINTS=tests/compat/jdaviz-constraints.txt
REQS=("jdaviz==5.0.2" "-e" ".[imviz]" "pytest" "jupyterlab")
[ -x "$JDAVIZ_VENV/bin/python" ] || "$PY" -m venv "$JDAVIZ_VENV"
VPY="$JDAVIZ_VENV/bin/python"
if [ "${JDAVIZ_RESOLVER:-uv}" = uv ]; then
  "$VPY" -m pip install -q "uv==0.13.9"
  # uv ignores pip's `cert` setting: hand it the system CA bundle where there is one
  if [ -z "${SSL_CERT_FILE:-}" ]; then
    for ca in "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt; do
      if [ -n "$ca" ] && [ -f "$ca" ]; then export SSL_CERT_FILE="$ca"; break; fi
    done
  fi
  "$JDAVIZ_VENV/bin/uv" pip install -q --python "$VPY" -c "$CONSTRAINTS" "${REQS[@]}"
else
  "$VPY" -m pip install -q --upgrade pip
  "$VPY" -m pip install -q -c "$CONSTRAINTS" "${REQS[@]}"
fi
# (importing jdaviz takes 15-40 s: the check reads the installed versions instead)
"$VPY" -c "from importlib.metadata import version as v; print('jdaviz venv: jdaviz',
v('jdaviz'), 'bqplot', v('bqplot'), 'bqplot-image-gl', v('bqplot-image-gl'))"
