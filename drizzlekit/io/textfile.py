"""Reading small text files (lists, shift files, configs) with clear errors."""

from __future__ import annotations

import os

from ..exceptions import InputFileError

__all__ = ["read_text"]


def read_text(path: str | os.PathLike, what: str) -> str:
    """Return the UTF-8 text of ``path``.

    Raises
    ------
    InputFileError
        ``"<path>: <what> file not found"`` or ``"<path>: cannot read the
        <what> file (...)"`` (also for text that is not UTF-8).
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the {what} file ({exc})") from None
