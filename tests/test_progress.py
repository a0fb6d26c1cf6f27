"""Progress bars only where someone watches; log lines never through a bar."""

from __future__ import annotations

import logging
import re
import sys

from tqdm.auto import tqdm

from drizzlekit.progress import logs_beside_bars, progress_bar, want_progress


def test_progress_is_off_when_stderr_is_redirected(capsys):
    assert want_progress(None) is False  # pytest captures stderr: not a terminal
    assert want_progress(True) is True and want_progress(False) is False
    items = [1, 2, 3]
    assert progress_bar(items, False, "x") is items


def test_log_lines_are_written_beside_the_bar(capsys):
    logger = logging.getLogger("drizzlekit.test_progress")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.addFilter(lambda r: "hidden" not in r.getMessage())
    top = logging.getLogger("drizzlekit")
    old_level = top.level
    top.addHandler(handler)
    top.setLevel(logging.INFO)
    try:
        with logs_beside_bars(True):
            assert handler.stream is not sys.stderr
            bar = tqdm(range(3), file=sys.stderr, desc="step", mininterval=0)
            for i in bar:
                logger.info("line %d", i)
                logger.info("hidden %d", i)
            bar.close()
        assert handler.stream is sys.stderr  # restored, level and filters kept
    finally:
        top.removeHandler(handler)
        top.setLevel(old_level)
    err = capsys.readouterr().err
    pieces = re.split(r"[\r\n]", err)
    for i in range(3):
        assert f"line {i}" in pieces  # alone on its line, not glued to a bar
    assert "hidden" not in err
