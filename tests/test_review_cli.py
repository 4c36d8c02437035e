"""Review campaigns from the command line: create (links, hashed tokens, rating scales),
agreement on the release's human-eval files and on campaigns (naming their scale), export, and
judge calibration against audit labels."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from eibench.errors import EIBenchError
from eibench.review.calibration import reliability
from eibench.review.campaigns import Response, add_response, get_campaign, items, login
from eibench.store import Store
from tests.cli import invoke
from tests.one_line import assert_one_line_error


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


def test_create_stores_the_chosen_scale_and_defaults_to_the_papers_1_to_5(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    common = ["review", "create", "--workspace", str(ws), "--data", str(release_dir)]
    base = ["--kind", "rate", "--from", "basic", "--sample", "4", "--raters", "a"]
    paper = invoke(capsys, *common, *base, "--name", "paper")
    assert paper.code == 0 and "scores 1-5" in paper.err
    create(capsys, ws, release_dir, *base, "--name", "explicit", "--scale", "1-5")
    create(capsys, ws, release_dir, *base, "--name", "legacy", "--scale", "0-5")
    with Store.open(ws) as store:
        scales = {n: get_campaign(store, n).scale for n in ("paper", "explicit", "legacy")}
    assert scales == {"paper": "1-5", "explicit": "1-5", "legacy": "0-5"}
    bad = invoke(capsys, *common, *base, "--name", "bad", "--scale", "1-10")
    assert_one_line_error(bad, "unknown rating scale '1-10'", "choose 1-5", "or 0-5")
    wrong_kind = invoke(capsys, *common, "--kind", "audit", "--from", "basic", "--raters", "a",
                        "--name", "bad", "--scale", "1-5")  # fmt: skip
    assert_one_line_error(wrong_kind, "--scale is for rate campaigns, not audit ones")
    with Store.open(ws) as store, pytest.raises(EIBenchError, match="no review campaign"):
        get_campaign(store, "bad")


def test_agreement_reproduces_the_release_analysis(capsys, release_dir: Path) -> None:
    files = sorted((release_dir / "human_eval").glob("score_*.jsonl"))
    args = [arg for f in files for arg in ("--from-files", str(f))]
    result = invoke(capsys, "review", "agreement", *args)
    assert result.code == 0, result.err
    text = result.out
    for figure in ("4.416", "4.282", "4.607", "4.124", "4.651", "0.729"):
        assert figure in text
    assert "Krippendorff" in text and "ICC" in text and "7861" in text
    assert "scale: 1-5 (scores from 1 to 5" in text


def test_agreement_json_names_the_scale_of_its_figures(capsys, release_dir: Path) -> None:
    files = sorted((release_dir / "human_eval").glob("score_*.jsonl"))
    args = [arg for f in files for arg in ("--from-files", str(f))]
    result = invoke(capsys, "review", "agreement", *args, "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["scale"] == {"name": "1-5", "low": 1, "high": 5}
    assert (
        round(shown["overall"]["mean"], 3) == 4.416 and round(shown["overall"]["std"], 3) == 0.729
    )
    assert [c["category"] for c in shown["categories"]] == ["happy", "angry", "sad", "excited"]
    assert shown["raters"]["7866"]["1"] == 0 and set(shown["raters"]["7861"]) == set("12345")
    as_0_5 = json.loads(
        invoke(capsys, "review", "agreement", *args, "--json", "--scale", "0-5").out
    )
    assert as_0_5["scale"]["name"] == "0-5" and as_0_5["overall"] == shown["overall"]
    bad = invoke(capsys, "review", "agreement", *args, "--scale", "0-10")
    assert_one_line_error(bad, "unknown rating scale '0-10'")


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
    scale = json.loads((out / "scale.json").read_text())
    assert scale == {"campaign": "c", "scale": {"name": "1-5", "low": 1, "high": 5}}
    agreement = invoke(capsys, "review", "agreement", "c", "--workspace", str(ws))
    assert agreement.code == 0 and "Overall" in agreement.out and "scale: 1-5" in agreement.out
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
    rows = (out / "ratings.csv").read_text().splitlines()
    assert len(rows) == 1 + 24
    header, first = rows[0].split(","), rows[1].split(",")
    assert first[header.index("scale")] == "1-5"


def test_a_0_to_5_campaign_keeps_its_scale_through_export_and_agreement(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws, out = tmp_path / "ws", tmp_path / "out"
    create(capsys, ws, release_dir, "--kind", "rate", "--from", "basic", "--sample", "6",
           "--raters", "a,b", "--scale", "0-5", "--name", "old")  # fmt: skip
    with Store.open(ws) as store:
        for n, item in enumerate(items(store, "old")):
            for rater in ("a", "b"):
                response = Response(kind="rate", rater=rater, item_id=item.item_id, score=n % 3)
                add_response(store, "old", response)
    common = ["--workspace", str(ws)]
    shown = json.loads(invoke(capsys, "review", "agreement", "old", "--json", *common).out)
    assert shown["scale"] == {"name": "0-5", "low": 0, "high": 5} and shown["overall"]["min"] == 0
    assert invoke(capsys, "review", "export", "old", "--out", str(out), *common).code == 0
    assert json.loads((out / "scale.json").read_text())["scale"]["name"] == "0-5"
    files = [arg for f in sorted(out.glob("score_*.jsonl")) for arg in ("--from-files", str(f))]
    again = invoke(capsys, "review", "agreement", *files)  # the scale comes from scale.json
    assert again.code == 0, again.err
    assert "scale: 0-5" in again.out
    (out / "scale.json").unlink()  # without it, the files read as the release's 1-5: 0 is refused
    assert_one_line_error(invoke(capsys, "review", "agreement", *files), "outside 1-5")
    refused = invoke(capsys, "review", "agreement", "old", "--scale", "1-5", *common)
    assert_one_line_error(refused, "--scale is for --from-files")


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
    probabilities: list[float] = []
    labels: list[bool] = []
    with Store.open(ws) as store:
        judged = {j.sample_id: j.verdict for j in store.judgments("p")}
        for item in items(store, "au"):
            verdict = judged[item.item_id]
            assert verdict is not None
            flags = [t.covered for t in verdict.triggers]
            human = [not flags[0], *flags[1:]]  # people disagree on each sample's first trigger
            probabilities += [float(t.score or 0) for t in verdict.triggers]
            labels += human
            for rater in ("h1", "h2"):
                add_response(
                    store,
                    "au",
                    Response(kind="audit", rater=rater, item_id=item.item_id, covered=human),
                )
    result = invoke(capsys, "judge", "calibrate", "--audit", "au", "--workspace", str(ws))
    assert result.code == 0, result.err
    triggers = int(re.search(r"triggers\s+│?\s*([\d,]+)", result.out).group(1).replace(",", ""))
    accuracy = float(re.search(r"per-trigger accuracy\s+│?\s*([\d.]+)", result.out).group(1))
    assert triggers > 30
    assert accuracy == pytest.approx(1 - 30 / triggers, abs=1e-3)
    expected = reliability(probabilities, labels)  # the learned judge's P(covered)
    brier = re.search(r"Brier \(base rate\)\s+│\s*([\d.]+) \(([\d.]+)\)", result.out)
    assert brier and brier.groups() == (f"{expected.brier:.3f}", f"{expected.base_brier:.3f}")


def test_calibrate_fits_and_saves_a_threshold_that_judge_then_uses(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    common = ["--workspace", str(ws)]
    data = ["--data", str(release_dir)]
    run = invoke(capsys, "run", "--model", "prior", "--run", "p", "--limit", "30", *data, *common)
    assert run.code == 0
    assert invoke(capsys, "judge", "--run", "p", *data, *common).code == 0
    create(capsys, ws, release_dir, "--kind", "audit", "--from", "run:p", "--raters", "h1",
           "--name", "au")  # fmt: skip
    with Store.open(ws) as store:
        scores = {j.sample_id: [t.score for t in j.verdict.triggers] for j in store.judgments("p")}
        cut = float(sorted(s for row in scores.values() for s in row)[len(scores) * 2])
        for item in items(store, "au"):
            covered = [s >= cut for s in scores[item.item_id]]  # people cover above `cut`
            add_response(store, "au", Response(kind="audit", rater="h1", item_id=item.item_id,
                                               covered=covered))  # fmt: skip
    fitted = invoke(capsys, "judge", "calibrate", "--audit", "au", "--save", "tight", *common)
    assert fitted.code == 0, fitted.err
    saved = json.loads((ws / "judge-configs" / "tight.json").read_text())
    assert saved["protocol"] == "semantic" and saved["fit"]["kappa"] == 1.0
    assert saved["threshold"] <= cut and "saved judge configuration tight@" in fitted.err
    # each figure with its bootstrap interval: `0.412 [0.301, 0.530]`
    assert re.search(
        r"Cohen's kappa\s+│?\s*-?[\d.]+ \[[-\d.]+, [-\d.]+\]\s+│?\s*1\.000", fitted.out
    )
    # judging with it needs --replace (another threshold), then agrees with the people fully
    again = ["judge", "--run", "p", "--judge-config", "tight", *data, *common]
    refused = invoke(capsys, *again)
    assert refused.code != 0 and "--replace" in refused.err
    assert invoke(capsys, *again, "--replace").code == 0
    with Store.open(ws) as store:
        (judging,) = store.judgings("p")
    assert judging.settings["judge_config"].startswith("tight@")
    assert judging.settings["threshold"] == saved["threshold"]
    # the version score prints: the learned model, and the configuration that set its threshold
    assert judging.version == f"{judging.settings['model']}, {judging.settings['judge_config']}"
    assert judging.version.startswith("learned-v1-")
    check = invoke(capsys, "judge", "calibrate", "--audit", "au", *common)
    assert float(re.search(r"per-trigger accuracy\s+│?\s*([\d.]+)", check.out).group(1)) == 1.0


def test_judge_config_errors_are_one_line(capsys, tmp_path: Path, release_dir: Path) -> None:
    ws = tmp_path / "ws"
    common = ["--run", "p", "--data", str(release_dir), "--workspace", str(ws)]
    unknown = invoke(capsys, "judge", "--judge-config", "nope", *common)
    assert unknown.code != 0 and "no judge configuration 'nope'" in unknown.err
    assert "calibrate --save" in unknown.err and "Traceback" not in unknown.err
    (ws / "judge-configs").mkdir(parents=True)
    path = ws / "judge-configs" / "e.json"
    path.write_text(json.dumps({"name": "e", "protocol": "entail", "threshold": 0.8}))
    clash = invoke(capsys, "judge", "--judge-config", "e", "--protocol", "semantic", *common)
    assert clash.code != 0
    assert "conflicting protocols" in clash.err and "says entail" in clash.err
    path.write_text(json.dumps({"name": "e", "protocol": "paper-llama3", "threshold": 0.8}))
    bad = invoke(capsys, "judge", "--judge-config", str(path), *common)
    assert bad.code != 0 and str(path) in bad.err and "protocol" in bad.err
    assert len(bad.err.strip().splitlines()) == 1
