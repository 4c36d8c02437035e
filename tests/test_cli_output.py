"""What a newcomer sees: names and intervals never cut at 80 columns or in a pipe, `runs
--json`, readable intervals and p-values, and reading commands that never create a store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eibench.report.tables import interval_text, p_value_text
from tests.cli import invoke

LONG = "quickstart-basic-prior-user-with-a-name-longer-than-eighty-columns-allow-for-a-table"


@pytest.fixture
def two_runs(capsys, release_dir: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    common = ("--data", str(release_dir), "--workspace", str(ws))
    for name, split in ((LONG, "basic"), (LONG + "-complex", "complex")):
        result = invoke(capsys, "run", "--model", "prior", "--run", name, "--split", split,
                        "--limit", "3", *common)  # fmt: skip
        assert result.code == 0, result.err
    return ws


def test_runs_never_cuts_a_name_in_a_pipe(capsys, two_runs: Path) -> None:
    result = invoke(capsys, "runs", "--workspace", str(two_runs))
    assert result.code == 0, result.err
    assert LONG in result.out and LONG + "-complex" in result.out
    assert "…" not in result.out  # nothing anywhere was cut
    listed = json.loads(invoke(capsys, "runs", "--workspace", str(two_runs), "--json").out)
    assert sorted(r["run"] for r in listed) == [LONG, LONG + "-complex"]
    assert all(r["counts"]["ok"] == 3 and r["config"]["model"] == "prior" for r in listed)


def test_score_intervals_are_never_cut(capsys, release_dir: Path, two_runs: Path) -> None:
    common = ("--data", str(release_dir), "--workspace", str(two_runs))
    assert invoke(capsys, "judge", "--run", LONG, *common).code == 0
    table = invoke(capsys, "score", "--run", LONG, *common)
    assert table.code == 0, table.err
    assert "…" not in table.out
    assert re.search(r"\[\d+\.\d\d, \d+\.\d\d\]", table.out)  # [low, high], whole


READING = [
    ["runs"],
    ["score", "--run", "r"],
    ["report"],
    ["export", "--run", "r", "--format", "jsonl", "--out", "x"],
]


@pytest.mark.parametrize("command", READING)
def test_reading_commands_never_create_a_store(capsys, tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo"
    result = invoke(capsys, *command, "--workspace", str(typo))
    assert result.code == 2 and "no eibench store" in result.err and str(typo) in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not typo.exists()


def test_intervals_and_p_values_read_well() -> None:
    assert interval_text(-0.3431, -0.2455) == "[-34.31, -24.55]"
    assert interval_text(0.375, 0.5, 1, 3) == "[0.375, 0.500]"
    assert p_value_text(1 / 10001) == "< 0.0001"
    assert p_value_text(0.0123) == "0.0123"


def test_list_flags_take_several_values_as_a_shell_glob_gives_them(
    capsys, release_dir: Path, two_runs: Path
) -> None:
    common = ("--data", str(release_dir), "--workspace", str(two_runs))
    for name in (LONG, LONG + "-complex"):
        assert invoke(capsys, "judge", "--run", name, *common).code == 0
    shown = invoke(capsys, "report", "--runs", LONG, LONG + "-complex", "--format", "json", *common)
    assert shown.code == 0, shown.err
    assert {c["run"] for c in json.loads(shown.out)["cells"]} == {LONG, LONG + "-complex"}
    files = sorted(str(p) for p in (release_dir / "human_eval").glob("score_*.jsonl"))
    agreement = invoke(capsys, "review", "agreement", "--from-files", *files)
    assert agreement.code == 0, agreement.err
    assert f"{len(files)} file(s)" in agreement.out and "4.416" in agreement.out


def test_a_missing_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['fastapi'] = None; from eibench.cli import run; "
        f"sys.exit(run(['review', 'serve', '--workspace', {str(tmp_path)!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'eibench[web]'" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_usage_errors_are_one_line_like_every_error(capsys) -> None:
    for args in (["run", "--nope"], ["run", "--model", "prior", "--limit", "0"]):
        result = invoke(capsys, *args)
        assert result.code == 2 and result.err.startswith("error: ")
        assert len(result.err.strip().splitlines()) == 1 and "╭" not in result.err
        assert "(see `eibench run --help`)" in result.err
    bare = invoke(capsys)
    assert bare.code == 0 and "Usage: eibench" in bare.out and "quickstart" in bare.out


def test_a_bad_set_is_blamed_on_the_flag(capsys, release_dir: Path, tmp_path: Path) -> None:
    from eibench.experiments import bundled

    result = invoke(capsys, "eval", "--config", str(bundled("quickstart")), "--set",
                    "concurency=4", "--workspace", str(tmp_path / "ws"))  # fmt: skip
    assert result.code == 2 and result.err.startswith("error: --set concurency=4: unknown key")
    assert "quickstart.yaml" not in result.err


def test_review_create_takes_repeated_raters_and_a_link_url(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    result = invoke(capsys, "review", "create", "--kind", "rate", "--from", "basic", "--sample",
                    "2", "--rater", "a", "--rater", "b,c", "--link-url", "http://h:9",
                    "--workspace", str(tmp_path / "ws"), "--data", str(release_dir))  # fmt: skip
    assert result.code == 0, result.err
    links = dict(line.split("\t") for line in result.out.strip().splitlines())
    assert sorted(links) == ["a", "b", "c"]
    assert all(link.startswith("http://h:9/") for link in links.values())
    protocol = invoke(capsys, "judge", "calibrate", "--audit", "x", "--protocol", "nonsense")
    assert protocol.code == 2 and "--protocol" in protocol.err


def test_a_grid_subset_gives_every_category_a_figure(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    from eibench.experiments import bundled

    ws = tmp_path / "ws"
    sets = ("--set", "subset=8", "--set", "splits=[basic]")
    result = invoke(capsys, "eval", "--config", str(bundled("quickstart")), *sets,
                    "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    assert result.code == 0, result.err
    cells = json.loads(invoke(capsys, "report", "--format", "json", "--workspace", str(ws),
                              "--data", str(release_dir)).out)["cells"]  # fmt: skip
    by_category = {c["category"]: c["n"] for c in cells}
    assert by_category["Overall"] == 8
    assert all(by_category[c] > 0 for c in ("Happy", "Angry", "Sadness", "Excitement"))


def test_tables_spell_categories_one_way(capsys, release_dir: Path) -> None:
    stats = invoke(capsys, "data", "stats", "--data", str(release_dir))
    files = sorted(str(p) for p in (release_dir / "human_eval").glob("score_*.jsonl"))
    agreement = invoke(capsys, "review", "agreement", "--from-files", *files)
    for shown in (stats.out, agreement.out):
        assert all(label in shown for label in ("Happy", "Angry", "Sadness", "Excitement"))
        assert not re.search(r"│ (happy|sad|excited) ", shown)


def test_flags_show_no_bool_type_in_help(capsys) -> None:
    for command in (["--help"], ["judge", "--help"], ["run", "--help"]):
        shown = invoke(capsys, *command)
        assert shown.code == 0 and "<bool>" not in shown.out and "--help" in shown.out


def test_no_model_loading_bars_reach_a_pipe() -> None:
    import subprocess
    import sys

    probe = (
        "from eibench.cli import run; run(['--version']); "
        "from transformers.utils import logging; print(logging.is_progress_bar_enabled())"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"  # stderr is a pipe here
