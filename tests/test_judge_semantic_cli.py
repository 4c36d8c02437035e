"""The offline main job end to end: `prior` answers, the `semantic` judge, the score table with
intervals, coherence and (complex) emotion sensitivity; resumable and rejudged on change."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eibench.judges.learned import default_model
from tests.cli import invoke


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory, release_dir: Path) -> Path:
    """A workspace with `prior` runs on 60 basic samples and the whole complex split, judged."""
    ws = tmp_path_factory.mktemp("ws")
    capsys = None  # module fixtures cannot take capsys; run the CLI directly
    from eibench.cli import run

    common = ["--data", str(release_dir), "--workspace", str(ws)]
    assert run(["run", "--model", "prior", "--run", "basic", "--limit", "60", *common]) == 0
    assert run(["run", "--model", "prior", "--split", "complex", "--run", "cx", *common]) == 0
    for name in ("basic", "cx"):
        assert run(["judge", "--run", name, *common]) == 0, capsys
    return ws


def score(capsys, release_dir: Path, ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(
        capsys, "score", "--data", str(release_dir), "--workspace", str(ws), "--json", *args
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_prior_answers_score_with_intervals_and_coherence(
    capsys, judged: Path, release_dir: Path
) -> None:
    result = score(capsys, release_dir, judged, "--run", "basic")
    (semantic,) = result["scores"]
    assert semantic["protocol"] == "semantic" and semantic["judge"].startswith("semantic:")
    assert semantic["version"] == default_model().version  # the learned judge made them
    overall = semantic["rows"][-1]
    assert overall["label"] == "Overall" and overall["n_scored"] == 60
    assert overall["n_not_run"] == 1615 - 60
    recall = overall["recall"]
    assert 0 < recall["low"] <= recall["estimate"] <= recall["high"] < 1
    assert [r["label"] for r in semantic["rows"]][:4] == ["Happy", "Angry", "Sadness", "Excitement"]
    assert semantic["macro"]["estimate"] is not None
    ((encoder, rows),) = result["coherence"].items()
    assert encoder == semantic["judge"].removeprefix("semantic:") or encoder
    assert rows[-1]["n_scored"] > 0 and 0 < rows[-1]["recall"]["estimate"] <= 1


def test_table_output_is_readable(capsys, judged: Path, release_dir: Path) -> None:
    result = invoke(
        capsys, "score", "--run", "basic", "--data", str(release_dir), "--workspace", str(judged)
    )
    assert result.code == 0, result.err
    for text in ("Overall", "Excitement", "recall %", "95% CI", "fail", "macro",
                 "coherence", default_model().version):  # fmt: skip
        assert text in result.out


def test_complex_run_reports_emotion_sensitivity(capsys, judged: Path, release_dir: Path) -> None:
    result = score(capsys, release_dir, judged, "--run", "cx")
    overall = result["scores"][0]["rows"][-1]
    assert overall["n_scored"] == 50
    assert len(result["scores"][0]["rows"]) == 1  # the complex split is one mean
    names = list(result["sensitivity"])
    assert any(n.startswith("answer cosine") for n in names)
    assert any(n.startswith("cross-recall") for n in names)
    # the prior answers the same triggers for every question of an emotion: high similarity
    cosine = next(v for n, v in result["sensitivity"].items() if n.startswith("answer cosine"))
    assert cosine["estimate"] > 0.5 and cosine["n"] == 50
    assert f"cross-recall (all-MiniLM-L6-v2, {default_model().version})" in names


def test_cross_recall_is_the_default_judges_recall(judged: Path, release_dir: Path) -> None:
    """Emotion sensitivity's cross-recall comes from the default (learned) offline judge."""
    from eibench.data import load_split
    from eibench.embed import load_encoder
    from eibench.judges.learned import LearnedJudge
    from eibench.metrics.sensitivity import SensitivityItem, emotion_sensitivity
    from eibench.store import Store

    samples = load_split(release_dir, "complex").by_id()
    with Store.open(judged) as store:
        answers = {g.sample_id: g.clean or "" for g in store.generations("cx")}
        (key,) = store.metric_encoders("cx", "sensitivity_cross_recall")
        stored = store.metrics("cx", "sensitivity_cross_recall", key)
    items = [SensitivityItem(sid, samples[sid].image, samples[sid].emotion, text,
                             samples[sid].triggers) for sid, text in answers.items()]  # fmt: skip
    encoder = load_encoder("minilm")
    expected = emotion_sensitivity(items, encoder, LearnedJudge(encoder)).per_sample
    assert stored and {sid: v for sid, (_, v) in stored.items()} == pytest.approx(
        {sid: pair[1] for sid, pair in expected.items()}
    )


def test_rejudging_is_a_no_op_and_an_edited_answer_is_rejudged(
    capsys, judged: Path, release_dir: Path
) -> None:
    common = ["--data", str(release_dir), "--workspace", str(judged)]
    again = invoke(capsys, "judge", "--run", "basic", *common)
    assert again.code == 0 and "judged now" in again.out
    db = sqlite3.connect(judged / "eibench.sqlite")
    before = db.execute("SELECT COUNT(*) FROM judgments WHERE run = 'basic'").fetchone()[0]
    assert before == 60
    (sid,) = db.execute("SELECT sample_id FROM generations WHERE run = 'basic' LIMIT 1").fetchone()
    with db:
        db.execute("UPDATE generations SET clean = 'Nothing here.' WHERE sample_id = ?", (sid,))
    result = score(capsys, release_dir, judged, "--run", "basic")
    assert result["scores"][0]["rows"][-1]["n_unjudged"] == 1  # the stale verdict does not count
    rejudged = invoke(capsys, "judge", "--run", "basic", *common)
    assert rejudged.code == 0
    result = score(capsys, release_dir, judged, "--run", "basic")
    assert result["scores"][0]["rows"][-1]["n_scored"] == 60


def test_unknown_run_and_missing_judgments_are_one_line_errors(
    capsys, judged: Path, release_dir: Path
) -> None:
    common = ["--data", str(release_dir), "--workspace", str(judged)]
    missing = invoke(capsys, "judge", "--run", "nope", *common)
    assert missing.code == 2 and "no run named 'nope'" in missing.err
    unjudged = invoke(capsys, "score", "--run", "basic", "--protocol", "triggers", *common)
    assert unjudged.code == 2 and "eibench judge" in unjudged.err
    assert len(unjudged.err.strip().splitlines()) == 1
    no_model = invoke(capsys, "judge", "--run", "basic", "--protocol", "triggers", *common)
    assert no_model.code == 2 and "--judge" in no_model.err


def test_release_rules_score_the_release_coherence(capsys, judged: Path, release_dir: Path) -> None:
    from eibench.store import Store

    honest = score(capsys, release_dir, judged, "--run", "basic")
    release = score(capsys, release_dir, judged, "--run", "basic", "--rules", "release")
    ((encoder, rows),) = release["coherence"].items()
    with Store.open(judged) as store:
        stored = store.metrics("basic", "coherence_release", encoder)
        clean = store.metrics("basic", "coherence", encoder)
    assert len(stored) == len(clean) == 60  # both modes measured for every answer
    kept = [v for _, v in stored.values() if v is not None and v != 0]
    assert rows[-1]["n_scored"] == len(kept)
    assert rows[-1]["recall"]["estimate"] == pytest.approx(sum(kept) / len(kept))
    # the semantic judge's verdicts stay under the honest rules, and say so
    assert release["scores"][0]["policy"]["rules"] == "honest"
    assert release["scores"][0]["rows"] == honest["scores"][0]["rows"]


def test_a_rejudge_with_nothing_to_do_reads_no_model_and_an_edit_recomputes_sensitivity(
    capsys, judged: Path, release_dir: Path
) -> None:
    """Verdicts, coherence and sensitivity all stored: `judge` again reads no encoder model
    (the quickstart's re-run). An edited complex answer is measured again, with its image."""
    from eibench.embed import encoder as embed
    from eibench.records.runs import answer_digest
    from eibench.store import Store

    embed.load_encoder.cache_clear()  # a fresh process, as far as encoders go
    embed._sentence_transformer.cache_clear()
    common = ["--data", str(release_dir), "--workspace", str(judged)]
    with Store.open(judged) as store:
        (encoder,) = store.metric_encoders("cx", "sensitivity_cosine")
        before = store.metrics("cx", "sensitivity_cosine", encoder)
    again = invoke(capsys, "judge", "--run", "cx", *common)
    assert again.code == 0, again.err
    assert embed._sentence_transformer.cache_info().currsize == 0  # no model was read
    with Store.open(judged) as store:
        assert store.metrics("cx", "sensitivity_cosine", encoder) == before

    db = sqlite3.connect(judged / "eibench.sqlite")
    (sid,) = db.execute("SELECT sample_id FROM generations WHERE run = 'cx' LIMIT 1").fetchone()
    with db:
        db.execute("UPDATE generations SET clean = 'Nothing here.' WHERE sample_id = ?", (sid,))
    edited = invoke(capsys, "judge", "--run", "cx", *common)
    assert edited.code == 0, edited.err
    with Store.open(judged) as store:
        after = store.metrics("cx", "sensitivity_cosine", encoder)
    assert after[sid][0] == answer_digest("Nothing here.")
    assert after[sid][1] != before[sid][1]
