"""The SQLite run store: runs bound to a config, one generation per sample, the call cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eibench.errors import EIBenchError
from eibench.models.base import ChatResponse, GenerationParams, Usage
from eibench.store import Generation, RunConfig, Store


def _config(**changes: object) -> RunConfig:
    base = {
        "model": "openai:m",
        "split": "basic",
        "setting": "user",
        "persona": "emotion",
        "prompt_version": "abc",
        "dataset": "d1",
    }
    return RunConfig.model_validate({**base, **changes})


def test_store_uses_wal_and_creates_the_workspace(tmp_path: Path) -> None:
    with Store.open(tmp_path / "ws") as store:
        assert store.path == tmp_path / "ws" / "eibench.sqlite"
    mode = (
        sqlite3.connect(tmp_path / "ws" / "eibench.sqlite")
        .execute("PRAGMA journal_mode")
        .fetchone()
    )
    assert mode[0] == "wal"


def test_a_run_name_is_bound_to_its_configuration(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.ensure_run("r", _config())
        store.ensure_run("r", _config(package_version="9.9"))  # same identity: resumes
        with pytest.raises(EIBenchError, match=r"different configuration.*params"):
            store.ensure_run("r", _config(params=GenerationParams(temperature=0.7)))
        with pytest.raises(EIBenchError, match="no run named 'x'"):
            store.require_run("x")


def test_one_generation_per_sample_and_replacing_never_duplicates(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        store.ensure_run("r", _config())
        failed = Generation(
            run="r", sample_id="s1", image="a.jpg", status="failed", error_kind="timeout"
        )
        store.put_generation(failed)
        ok = Generation(
            run="r",
            sample_id="s1",
            image="a.jpg",
            status="ok",
            raw="A</s>",
            clean="A",
            usage=Usage(input_tokens=3, output_tokens=2),
        )
        store.put_generation(ok)
        rows = list(store.generations("r"))
        assert len(rows) == 1 and rows[0].status == "ok" and rows[0].usage.output_tokens == 2
        assert store.statuses("r") == {"s1": "ok"}
        (info,) = store.runs()
        assert info.counts == {"ok": 1} and info.usage.input_tokens == 3


def test_a_generation_needs_its_run(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store, pytest.raises(sqlite3.IntegrityError):
        store.put_generation(Generation(run="nope", sample_id="s", image="a", status="ok"))


def test_call_cache_and_captions_round_trip(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        response = ChatResponse(text="hi", usage=Usage(input_tokens=1, output_tokens=1))
        assert store.cached_response("k") is None
        store.cache_response("k", "openai:m", response)
        store.put_caption("c", "openai:m", "a.jpg", "A caption.")
    with Store.open(tmp_path) as store:
        assert store.cached_response("k") == response
        assert store.caption("c") == "A caption."


def test_an_unusable_workspace_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EIBenchError, match="cannot open the run store"):
        Store.open(blocker / "ws")
