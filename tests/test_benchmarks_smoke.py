"""The benchmarks run (tiny sizes; their figures are in the README, not asserted here)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_pipeline_runs_on_disk_with_memory_per_step(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_pipeline.py"), "--shape", "64", "128",
         "--n-exposures", "2", "--n-chips", "1", "--on-disk", "--rss-steps",
         "--datadir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "peak resident memory (ru_maxrss)" in out
    steps = out.split("peak resident memory per step")[1]
    for name in ("static_mask", "sky", "driz_separate", "median", "blot", "driz_cr",
                 "final_drizzle", "write"):
        assert name in steps
