"""Real text models in the roles that need no image: the judge and CFSA's text role, through a
real engine and through transformers (`hf:FILE.gguf`, a causal LM, not an image-text model)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from eibench.store import Store
from tests.cli import invoke
from tests.engines.conftest import SMALL, Engine, manifest
from tests.release_factory import make_images
from tests.tiny_vlm import tiny_llava_dir

__all__ = ["tiny_llava_dir"]

SMOL = "smollm2-135m-instruct"
LLM_STAGES = {"question", "summary"}  # the text model's stages


def _gguf(name: str) -> str:
    models = manifest()["models"]
    assert isinstance(models, dict)
    return str(models[name])


def test_hf_causal_lm_from_gguf_judges_a_stored_run(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    common = ("--data", str(release_dir), "--workspace", str(ws))
    assert invoke(capsys, "run", "--limit", "3", "--run", "p", *common).code == 0
    spec = f"hf:{_gguf(SMOL)}"
    result = invoke(
        capsys,
        "judge", "--run", "p", "--protocol", "paper-chatgpt", "--judge", spec,
        "--max-tokens", "32", "--max-asks", "1", *common,
    )  # fmt: skip
    with Store.open(ws) as store:
        judgments = store.judgments("p", protocol="paper-chatgpt")
    assert len(judgments) == 3, result.err
    # a real model's reply was read or kept as unreadable, never a failed call
    assert all(j.status in ("ok", "judge_unparsed") for j in judgments), result.err
    assert all(j.raw and j.usage.output_tokens > 0 for j in judgments)


@pytest.mark.parametrize("llm", ["engine", "hf-gguf"])
def test_annotate_with_a_real_text_model_and_the_tiny_vlm(
    capsys, llm: str, request: pytest.FixtureRequest, tiny_llava_dir: Path, tmp_path: Path
) -> None:
    images = make_images(tmp_path / "images", ["people/party_001.jpg"])
    if llm == "engine":
        engine: Engine = request.getfixturevalue("small_llm")
        llm_args = ["--llm", f"openai:{SMALL}", "--llm-base-url", engine.url]
        llm_spec = f"openai:{SMALL}"
    else:
        llm_spec = f"hf:{_gguf(SMOL)}"
        llm_args = ["--llm", llm_spec]
    ws = tmp_path / "ws"
    result = invoke(
        capsys,
        "annotate", "--images", str(images), "--emotion", "happy",
        "--vlm", f"hf:{tiny_llava_dir}", *llm_args, "--workspace", str(ws),
        "--limit", "1", "--max-tokens", "32",
    )  # fmt: skip
    assert result.code in (0, 1), result.err  # the tiny VLM's random text may hold no list
    db = sqlite3.connect(ws / "eibench.sqlite")
    stages = [json.loads(r[0]) for r in db.execute("SELECT record FROM cfsa_stages")]
    by_stage = {s["stage"]: s for s in stages}
    assert set(by_stage) >= LLM_STAGES, set(by_stage)
    for name in LLM_STAGES:
        assert by_stage[name]["model"] == llm_spec and by_stage[name]["status"] == "ok"
    question = by_stage["question"]
    assert len(json.dumps(question)) > 50  # the real model wrote a question
