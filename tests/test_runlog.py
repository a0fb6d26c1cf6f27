"""The run file (``runfile``) shared by astrodrizzle and tweakreg: drizzlekit.io.logfile.run_log."""

import logging

import pytest

from drizzlekit.exceptions import DrizzlekitError
from drizzlekit.io.logfile import failed_log_name, run_log

log = logging.getLogger("drizzlekit.test_runlog")


def test_success_moves_the_log_into_place(tmp_path):
    path = tmp_path / "run.log"
    with run_log(path) as name:
        log.info("hello from the run")
    assert name == str(path)
    assert "hello from the run" in path.read_text()
    assert not (tmp_path / "run.log.partial").exists()


def test_failure_keeps_the_earlier_log(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("the earlier product's log\n")
    with pytest.raises(RuntimeError):
        with run_log(path):
            log.info("this run fails")
            raise RuntimeError("boom")
    assert path.read_text() == "the earlier product's log\n"
    assert "this run fails" in (tmp_path / "run_failed.log").read_text()
    assert failed_log_name(str(path)) == str(tmp_path / "run_failed.log")


@pytest.mark.parametrize("blank", [None, "", "  ", "none", "INDEF"])
def test_blank_runfile_logs_nothing(tmp_path, monkeypatch, blank):
    monkeypatch.chdir(tmp_path)
    with run_log(blank) as name:
        log.info("nothing")
    assert name is None
    assert list(tmp_path.iterdir()) == []


def test_user_handlers_keep_their_level(tmp_path, caplog):
    logger = logging.getLogger("drizzlekit")
    old = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with caplog.at_level(logging.WARNING, logger="drizzlekit"):
            with run_log(tmp_path / "r.log"):
                log.info("only in the file")
                log.warning("in both")
        assert "only in the file" in (tmp_path / "r.log").read_text()
        assert "only in the file" not in caplog.text
        assert "in both" in caplog.text
        assert logger.level == logging.WARNING
    finally:
        logger.setLevel(old)


def test_failed_tweakreg_run_leaves_its_earlier_log(tmp_path, monkeypatch):
    from drizzlekit import tweakreg

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tweakreg.log").write_text("earlier\n")
    with pytest.raises(DrizzlekitError):
        tweakreg(str(tmp_path / "missing_flt.fits"), runfile="tweakreg.log")
    assert (tmp_path / "tweakreg.log").read_text() == "earlier\n"
    assert "missing_flt.fits" in (tmp_path / "tweakreg_failed.log").read_text()
