"""Helpers shared by the browser tests (screenshots, markers, status text)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np


def grey_std(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG screenshot (0 for a blank one)."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float(img.std())


def plot_area_shot(page, css: str) -> bytes:
    """Screenshot of the plot area (the image region) of the figure ``css``."""
    area = page.locator(f"{css} .plotarea_events").first
    box = area.bounding_box()
    if box is None or box["width"] < 10:
        area = page.locator(css).first
        box = area.bounding_box()
    return page.screenshot(clip=box)


def shots_dir() -> Path | None:
    """Where screenshots are kept (``DK_UI_SHOTS``), or None."""
    d = os.environ.get("DK_UI_SHOTS")
    if d:
        Path(d).mkdir(parents=True, exist_ok=True)
        return Path(d)
    return None


def save_shot(page, name: str) -> None:
    """Save a full-page screenshot to ``$DK_UI_SHOTS/<name>.png`` when that is set."""
    d = shots_dir()
    if d is not None:
        page.screenshot(path=str(d / f"{name}.png"), full_page=True)


def dot_count(page, css: str) -> int:
    """Number of bqplot Scatter markers (SVG ``.dot``) inside the figure ``css``."""
    return page.locator(f"{css} .dot").count()


def status_text(page, css: str = ".dk-status") -> str:
    return page.locator(css).first.inner_text()
