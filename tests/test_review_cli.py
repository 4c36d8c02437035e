"""Review campaigns from the command line: create (links, hashed tokens), agreement on the
release's human-eval files, export, and judge calibration against audit labels."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from eibench.review.campaigns import Response, add_response, items, login
from eibench.store import Store
from tests.cli import invoke


def create(capsys, ws: Path, release_dir: Path, *args: str) -> dict[str, str]:
    result = invoke(
        capsys, "review", "create", "--workspace", str(ws), "--data", str(release_dir), *args
    )
    assert result.code == 0, result.err
    links = dict(line.split("\t") for line in result.out.strip().splitlines())
    return {rater: link.rsplit("/", 1)[1] for rater, link in links.items()}


def test_create_prints_one_link_per_rater_and_stores_only_hashes(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    tokens = create(
        capsys,
        ws,
        release_dir,
        "--kind",
        "rate",
        "--from",
        "basic",
        "--sample",
        "40",
        "--seed",
        "3",
        "--raters",
        "r1,r2,r3",
        "--name",
        "c",
    )
    assert sorted(tokens) == ["r1", "r2", "r3"] and len(set(tokens.values())) == 3
    dump = "\n".join(sqlite3.connect(ws / "eibench.sqlite").iterdump())
    assert all(token not in dump for token in tokens.values())
    with Store.open(ws) as store:
        found = login(store, tokens["r2"])
        assert found is not None and found[1] == "r2" and found[0].name == "c"
        assert login(store, "not-a-token") is None
        picked = items(store, "c")
    assert len(picked) == 40
    # stratified by emotion: every category is there, roughly in proportion
    emotions = [i.emotion for i in picked]
    assert set(emotions) == {"happy", "angry", "sad", "excited"}
    assert emotions.count("excited") > emotions.count("happy")
    again = invoke(
        capsys,
        "review",
        "create",
        "--workspace",
        str(ws),
        "--data",
        str(release_dir),
        "--kind",
        "rate",
        "--from",
        "basic",
        "--raters",
        "x",
        "--name",
        "c",
    )
    assert again.code == 2 and "exists" in again.err
    wrong = invoke(
        capsys,
        "review",
        "create",
        "--workspace",
        str(ws),
        "--data",
        str(release_dir),
        "--kind",
        "audit",
        "--from",
        "basic",
        "--raters",
        "x",
    )
    assert wrong.code == 2 and "run:NAME" in wrong.err


def test_agreement_reproduces_the_release_analysis(capsys, release_dir: Path) -> None:
    files = sorted((release_dir / "human_eval").glob("score_*.jsonl"))
    args = [arg for f in files for arg in ("--from-files", str(f))]
    result = invoke(capsys, "review", "agreement", *args)
    assert result.code == 0, result.err
    text = result.out
    for figure in ("4.416", "4.282", "4.607", "4.124", "4.651", "0.729"):
        assert figure in text
    assert "Krippendorff" in text and "ICC" in text and "7861" in text


def test_ratings_export_in_the_release_format_reads_back(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    create(
        capsys,
        ws,
        release_dir,
        "--kind",
        "rate",
        "--from",
        "basic",
        "--sample",
        "12",
        "--raters",
        "a,b",
        "--name",
        "c",
    )
    with Store.open(ws) as store:
        picked = items(store, "c")
        for n, item in enumerate(picked):
            for rater, score in (("a", 3 + n % 3), ("b", 4)):
                add_response(
                    store,
                    "c",
                    Response(kind="rate", rater=rater, item_id=item.item_id, score=score),
                )
        # a rater changes their mind: the latest response counts, the first stays as history
        add_response(
            store, "c", Response(kind="rate", rater="b", item_id=picked[0].item_id, score=1)
        )
    out = tmp_path / "out"
    result = invoke(capsys, "review", "export", "c", "--out", str(out), "--workspace", str(ws))
    assert result.code == 0, result.err
    lines = (out / "score_b.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[0]) == {picked[0].image: "1"}
    agreement = invoke(capsys, "review", "agreement", "c", "--workspace", str(ws))
    assert agreement.code == 0 and "overall" in agreement.out
    csv_out = invoke(
        capsys,
        "review",
        "export",
        "c",
        "--out",
        str(out),
        "--format",
        "csv",
        "--workspace",
        str(ws),
    )
    assert csv_out.code == 0
    assert len((out / "ratings.csv").read_text().splitlines()) == 1 + 24


def test_calibrate_a_judge_against_audit_labels(capsys, tmp_path: Path, release_dir: Path) -> None:
    ws = tmp_path / "ws"
    common = ["--data", str(release_dir), "--workspace", str(ws)]
    assert (
        invoke(capsys, "run", "--model", "prior", "--run", "p", "--limit", "30", *common).code == 0
    )
    assert invoke(capsys, "judge", "--run", "p", *common).code == 0
    create(
        capsys,
        ws,
        release_dir,
        "--kind",
        "audit",
        "--from",
        "run:p",
        "--raters",
        "h1,h2",
        "--name",
        "au",
    )
    with Store.open(ws) as store:
        judged = {j.sample_id: j.verdict for j in store.judgments("p")}
        for item in items(store, "au"):
            verdict = judged[item.item_id]
            assert verdict is not None
            flags = [t.covered for t in verdict.triggers]
            human = [not flags[0], *flags[1:]]  # people disagree on each sample's first trigger
            for rater in ("h1", "h2"):
                add_response(
                    store,
                    "au",
                    Response(kind="audit", rater=rater, item_id=item.item_id, covered=human),
                )
    result = invoke(capsys, "judge", "calibrate", "--audit", "au", *common)
    assert result.code == 0, result.err
    triggers = int(re.search(r"triggers\s+│?\s*([\d,]+)", result.out).group(1).replace(",", ""))
    accuracy = float(re.search(r"per-trigger accuracy\s+│?\s*([\d.]+)", result.out).group(1))
    assert triggers > 30
    assert accuracy == pytest.approx(1 - 30 / triggers, abs=1e-3)
