"""``python -m drizzlekit``: the same as the ``drizzlekit`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
