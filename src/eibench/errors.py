"""Errors a user can act on. The CLI prints them as one line and exits with `exit_code`."""

from __future__ import annotations

from pathlib import Path


class EIBenchError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class DataError(EIBenchError):
    """Bad input data, located by file and line (or key) so the user can fix it."""

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        self.key = key
        where = str(path)
        if line is not None:
            where += f":{line}"
        if key is not None:
            where += f": key {key!r}"
        super().__init__(f"{where}: {problem}")
