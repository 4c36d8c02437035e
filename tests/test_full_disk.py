"""A full disk under the workspace: one line and exit 2, never a traceback, and the store that
is left resumes once there is room again."""

from __future__ import annotations

import shutil
from pathlib import Path

from eibench.store import Store
from tests.cli import Result, invoke
from tests.fake_server import Behaviour, FakeServer


def assert_stopped_with_one_line(result: Result, *parts: str) -> None:
    """Exit 2, no traceback, and the error is one line (after the progress bar's last state)."""
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("error: ") and all(p in last for p in parts), last


def _ok_ids(ws: Path, run: str) -> list[str]:
    with Store.open(ws) as store:
        return [g.sample_id for g in store.generations(run) if g.status == "ok"]


def test_run_on_a_full_disk_stops_with_one_line_and_resumes_elsewhere(
    capsys, release_dir: Path, small_disk: Path, tmp_path: Path
) -> None:
    ws = small_disk / "ws"
    args = ["run", "--model", "prior", "--run", "r", "--split", "basic", "--data",
            str(release_dir)]  # fmt: skip
    full = invoke(capsys, *args, "--workspace", str(ws))
    assert_stopped_with_one_line(full, "cannot write the run store", "full")
    moved = tmp_path / "ws"
    shutil.copytree(ws, moved)
    kept = _ok_ids(moved, "r")
    assert 0 < len(kept) < 1615 and len(set(kept)) == len(kept)
    resumed = invoke(capsys, *args, "--workspace", str(moved))
    assert resumed.code == 0, resumed.err
    assert sorted(_ok_ids(moved, "r")) == sorted(set(_ok_ids(moved, "r")))
    assert len(_ok_ids(moved, "r")) == 1615


def test_judge_on_a_full_disk_stops_with_one_line(
    capsys, release_dir: Path, small_disk: Path
) -> None:
    ws = small_disk / "ws"
    answered = invoke(capsys, "run", "--model", "prior", "--run", "r", "--limit", "40",
                      "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    assert answered.code == 0, answered.err
    wordy = Behaviour(reply=lambda body: "The answer covers {score: 1/5}. " + "x" * 20_000)
    with FakeServer(wordy) as server:
        judged = invoke(capsys, "judge", "--run", "r", "--protocol", "paper-chatgpt", "--judge",
                        "openai:j", "--judge-base-url", server.openai_url, "--data",
                        str(release_dir), "--workspace", str(ws))  # fmt: skip
    assert_stopped_with_one_line(judged, "cannot write the run store", "full")
