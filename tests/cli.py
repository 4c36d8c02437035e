"""Run the real CLI entry point in-process and capture what a user would see."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eibench.cli import run


@dataclass
class Result:
    code: int
    out: str
    err: str


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
