"""`python -m eibench` and the `eibench` console script.

The CLI is imported here, inside the guard, so that Ctrl-C while it is still loading ends as
quietly as Ctrl-C later on: exit code 130 and no traceback. (Only the root group loads here; a
command's own modules load when it runs, where Ctrl-C ends the same way.)"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from eibench.cli import run
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(run())


if __name__ == "__main__":
    main()
