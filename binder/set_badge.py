"""Point the Binder badges at the repository that hosts drizzlekit.

The badges in ``README.md`` and ``notebooks/README.md`` carry the placeholder
``OWNER`` (this repository has no public home yet). Run, from the repository
root::

    python binder/set_badge.py <github-account>          # e.g. spacetelescope

and commit the two READMEs. ``--check`` exits 1 while a placeholder is left.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FILES = ("README.md", "notebooks/README.md")
PATTERN = re.compile(r"https://mybinder\.org/v2/gh/([^/\s)]+)/drizzlekit/")


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv == ["--check"]:
        left = [f for f in FILES if "mybinder.org/v2/gh/OWNER/" in (root / f).read_text()]
        print("placeholder OWNER left in: " + (", ".join(left) if left else "none"))
        return 1 if left else 0
    if len(argv) != 1 or not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})", argv[0]):
        print(__doc__)
        return 2
    for f in FILES:
        path = root / f
        text = path.read_text()
        new = PATTERN.sub(f"https://mybinder.org/v2/gh/{argv[0]}/drizzlekit/", text)
        if new != text:
            path.write_text(new)
            print(f"{f}: badge -> {argv[0]}/drizzlekit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
