"""The release loads exactly: the paper's counts, stable ids, complex keyed by (image, question)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from eibench.data import load_basic, load_complex, load_split, resolve_data_dir, sample_id
from eibench.data.stats import split_stats
from eibench.data.triggers import numbered
from tests.cli import invoke


def test_basic_split_has_the_published_counts(release_dir: Path) -> None:
    basic = load_split(release_dir, "basic")
    stats = split_stats(basic.samples)
    assert stats.overall.samples == 1615
    assert stats.overall.triggers == 7422
    assert {name: g.samples for name, g in stats.by_emotion.items()} == {
        "happy": 91,
        "angry": 342,
        "sad": 462,
        "excited": 720,
    }
    assert {name: g.triggers for name, g in stats.by_emotion.items()} == {
        "happy": 414,
        "angry": 1434,
        "sad": 2040,
        "excited": 3534,
    }
    assert {name: g.samples for name, g in stats.by_source.items()} == {
        "EmoSet-118k": 1182,
        "CAER-S": 433,
    }
    assert stats.overall.triggers_per_sample.min == 2
    assert stats.overall.triggers_per_sample.max == 10


def test_complex_split_has_50_samples_over_23_images(release_dir: Path) -> None:
    complex_ = load_split(release_dir, "complex")
    assert len(complex_.samples) == 50
    assert len({s.image for s in complex_.samples}) == 23
    assert sum(len(s.triggers) for s in complex_.samples) == 222
    assert len({s.id for s in complex_.samples}) == 50
    same_image = [s for s in complex_.samples if s.image.endswith("anger_00189.jpg")]
    assert len(same_image) >= 2
    assert len({s.question for s in same_image}) == len(same_image)
    assert {s.emotion for s in complex_.samples} == {
        "anger",
        "contentment",
        "excitement",
        "fear",
        "sadness",
    }


def test_basic_samples_follow_release_order_and_join_by_key(release_dir: Path) -> None:
    samples = load_basic(release_dir).samples
    first = json.loads((release_dir / "EI_Basic/user.jsonl").read_text().splitlines()[0])
    ((key, question),) = first.items()
    assert samples[0].image == key
    assert samples[0].question == question
    truth = json.loads((release_dir / "EI_Basic/basic_ground_truth.json").read_text())
    assert numbered(samples[0].triggers) == truth[key].strip()


def test_sample_fields_are_derived_from_the_key(release_dir: Path) -> None:
    by_image = {s.image: s for s in load_basic(release_dir).samples}
    caer = by_image["CAER-S/train/Angry/0006.png"]
    assert (caer.source, caer.emotion, caer.split) == ("CAER-S", "angry", "basic")
    assert caer.id == sample_id("basic", caer.image, caer.question)
    emoset = next(s for k, s in by_image.items() if "/sadness/" in k)
    assert (emoset.source, emoset.emotion) == ("EmoSet-118k", "sad")


def test_empty_trailing_items_are_dropped_and_whitespace_stripped(release_dir: Path) -> None:
    by_image = {s.image: s for s in load_basic(release_dir).samples}
    sample = by_image["EmoSet-118k/image/excitement/excitement_01172.jpg"]
    assert len(sample.triggers) == 3
    assert all(t == t.strip() and t for t in sample.triggers)
    assert by_image["CAER-S/train/Angry/2756.png"].triggers[-1].endswith("room")


def test_ids_are_stable_across_loads_and_layouts(release_dir: Path, tmp_path: Path) -> None:
    nested = tmp_path / "EIBench"
    shutil.copytree(release_dir, nested)
    direct = load_complex(release_dir)
    via_repo_layout = load_split(tmp_path, "complex")
    assert [s.id for s in direct.samples] == [s.id for s in via_repo_layout.samples]
    assert direct.fingerprint == via_repo_layout.fingerprint


def test_data_dir_resolution_prefers_flag_then_env(
    release_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EIBENCH_DATA", str(release_dir))
    assert resolve_data_dir() == release_dir
    nested = tmp_path / "mirror" / "EIBench"
    shutil.copytree(release_dir, nested)
    assert resolve_data_dir(tmp_path / "mirror") == nested


def test_stats_json_prints_the_published_counts(capsys, release_dir: Path) -> None:
    result = invoke(capsys, "data", "stats", "--data", str(release_dir), "--json")
    assert result.code == 0
    stats = json.loads(result.out)
    assert stats["basic"]["overall"]["samples"] == 1615
    assert stats["basic"]["overall"]["triggers"] == 7422
    assert stats["complex"]["overall"]["samples"] == 50
    assert stats["complex"]["overall"]["images"] == 23
    assert stats["complex"]["overall"]["triggers"] == 222
    assert stats["basic"]["by_emotion"]["excited"]["samples"] == 720
    assert sum(stats["basic"]["overall"]["trigger_histogram"].values()) == 1615


def test_stats_table_names_every_group(capsys, release_dir: Path) -> None:
    result = invoke(capsys, "data", "stats", "--data", str(release_dir), "--split", "basic")
    assert result.code == 0
    for word in ("1,615", "7,422", "Happy", "Excitement", "CAER-S", "EmoSet-118k"):
        assert word in result.out


def test_missing_data_says_how_to_get_it(capsys) -> None:
    result = invoke(capsys, "data", "stats")
    assert result.code == 2
    assert "eibench data download" in result.err
    assert "Traceback" not in result.err
