"""The library API a researcher uses from a notebook: the README's example, run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"## Library\n.*?```python\n(.*?)```", text, re.DOTALL)
    assert match, "the README has a Library section with a python example"
    return match.group(1)


def test_the_readme_example_answers_judges_and_scores(
    release_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("EIBENCH_DATA", str(release_dir))
    monkeypatch.setenv("EIBENCH_WORKSPACE", str(tmp_path / "ws"))
    code = _readme_example()
    assert len(code.strip().splitlines()) <= 6
    namespace: dict[str, object] = {}
    exec(compile(code, "README example", "exec"), namespace)
    shown = capsys.readouterr()
    assert "Overall" in shown.out  # the example printed the overall row
    tally = namespace["tally"]
    assert tally.selected == 20 and tally.ok == 20  # type: ignore[attr-defined]
    again = namespace["eibench"].run("prior", split="basic", limit=20)  # type: ignore[attr-defined]
    assert again[1].ok == 0 and again[1].skipped == 20


def test_importing_eibench_stays_light() -> None:
    import subprocess
    import sys

    heavy = "('rich', 'typer', 'httpx', 'numpy', 'torch')"
    probe = f"import sys, eibench; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_imports_no_command_and_nothing_heavy() -> None:
    """`import eibench.cli` and `eibench --help` import the root group only: no command
    module, none of the library's layers, and none of the packages they need."""
    import subprocess
    import sys

    heavy = (
        "numpy", "pydantic", "torch", "transformers", "sentence_transformers", "openai",
        "anthropic", "httpx", "httpx2", "yaml", "PIL", "matplotlib", "scipy", "filelock",
        "asyncio",
    )  # fmt: skip
    probe = f"""
import contextlib, io, sys
import eibench.cli
imported = set(sys.modules)
with contextlib.redirect_stdout(io.StringIO()) as shown:
    code = eibench.cli.run(["--help"])
assert code == 0 and "quickstart" in shown.getvalue()
for when, names in (("import", imported), ("--help", set(sys.modules))):
    print(when, sorted(m for m in names if m.split(".")[0] in {heavy!r}))
    print(when, sorted(m for m in names if m.startswith("eibench.")))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    light = "['eibench.cli', 'eibench.cli.console', 'eibench.cli.lazy', 'eibench.errors', "
    light += "'eibench.version']"
    assert out.stdout.splitlines() == [
        "import []",
        f"import {light}",
        "--help []",
        f"--help {light}",
    ]


def test_run_command_leaves_the_cfsa_pipeline_and_numpy_unimported() -> None:
    """`eibench run` (the plain settings) needs neither the CFSA pipeline nor numpy."""
    import subprocess
    import sys

    probe = """
import contextlib, io, sys
import eibench.cli
with contextlib.redirect_stdout(io.StringIO()):
    assert eibench.cli.run(["run", "--help"]) == 0
print(sorted(m for m in ("numpy", "torch", "eibench.cfsa", "eibench.embed") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_library_runs_report_through_callbacks_and_logging(
    release_dir: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    probe = """
import logging, sys
import eibench
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(message)s")
updates = []
name, tally = eibench.run("prior", split="basic", limit=12, on_progress=updates.append)
eibench.judge(name, on_progress=updates.append)
last = [u for u in updates if u.finished]
print("finished", [(u.label, u.total, u.done, u.failed) for u in last])
print("counts rise", all(a.done <= b.done for a, b in zip(updates, updates[1:]) if a.job == b.job))
"""
    env = {"EIBENCH_DATA": str(release_dir), "EIBENCH_WORKSPACE": str(tmp_path / "ws")}
    import os

    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout
    assert "eibench.runner prior-basic-user: 12 to do" in out, out
    assert "eibench.runner prior-basic-user: 12 done, 0 failed" in out, out
    finished = next(line for line in out.splitlines() if line.startswith("finished"))
    assert "'prior-basic-user', 12, 12, 0)" in finished
    assert "judge prior-basic-user" in finished
    assert "counts rise True" in out
