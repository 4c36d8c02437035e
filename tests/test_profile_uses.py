"""Generation profiles beyond the request body of `eibench run`: what the hf backend and the
Anthropic backend make of a profile, and profiles in experiment grids (`profile:` per model or
for the grid, `--set`) and `eibench eval`. The golden bodies are in test_profiles.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from eibench.errors import EIBenchError
from eibench.experiments import bundled, load_grid
from eibench.experiments.grid import cells
from eibench.models.anthropic_api import create_kwargs as anthropic_kwargs
from eibench.models.base import ChatRequest, GenerationParams, Message, ModelCallError
from eibench.models.decoding import generation_settings
from eibench.models.registry import ModelOptions, load_model
from eibench.profiles import load_profile
from eibench.store import Store
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer
from tests.tiny_vlm import build_tiny_llava


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("llava", {"max_new_tokens": 512, "temperature": 0.4, "do_sample": True}),
        (
            "minigpt-v2",
            {
                "max_new_tokens": 500,
                "temperature": 0.6,
                "top_p": 0.9,
                "do_sample": True,
                "repetition_penalty": 1.05,
            },
        ),
        ("otter", {"max_new_tokens": 512, "num_beams": 3, "no_repeat_ngram_size": 3}),
        ("qwen-vl-chat", {}),
    ],
)
def test_hf_generate_settings_are_only_what_the_profile_sets(profile, expected) -> None:
    assert generation_settings(load_profile(profile).generation_params()) == expected


def test_hf_generate_settings_without_a_profile_are_eibenchs_rule() -> None:
    greedy = {"max_new_tokens": 512, "do_sample": False, "temperature": None, "top_p": None,
              "top_k": None}  # fmt: skip
    assert generation_settings(GenerationParams()) == greedy
    sampled = generation_settings(GenerationParams(temperature=0.7, max_tokens=9))
    assert sampled == {"max_new_tokens": 9, "do_sample": True, "temperature": 0.7, "top_p": 1.0}


def test_anthropic_refuses_what_its_api_cannot_take() -> None:
    messages = [Message.text("user", "hi")]
    for name, refused in (("otter", "takes no num_beams, no_repeat_ngram_size"),
                          ("qwen-vl-chat", "needs max_tokens")):  # fmt: skip
        request = ChatRequest(messages=messages, params=load_profile(name).generation_params())
        with pytest.raises(ModelCallError, match=refused) as caught:
            anthropic_kwargs("claude-x", request)
        assert caught.value.kind == "bad_request"
    claude = ChatRequest(messages=messages, params=load_profile("claude-3").generation_params())
    assert "extra_body" not in anthropic_kwargs("claude-x", claude)  # no temperature sent


def _grid_file(tmp_path: Path, url: str = "http://127.0.0.1:9/v1") -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(
        "name: g\nmodels:\n  - spec: openai:a\n    profile: llava\n  - spec: openai:tiny-vlm\n"
        f"    base_url: [{url}]\nsplits: [basic, complex]\nsettings: [user, cot]\n"
        f"judges:\n  - protocol: paper-llama3\n    judge: openai:judge\n    base_url: [{url}]\n"
        "params:\n  temperature: 0.2\n  seed: 5\n"
    )
    return path


def test_a_grid_model_takes_its_profile_from_the_file_or_from_set(tmp_path: Path) -> None:
    config = _grid_file(tmp_path)
    requests = {(r.model, r.split, r.setting): r for r, _ in cells(load_grid(config))}
    llava, plain = requests["openai:a", "basic", "cot"], requests["openai:tiny-vlm", "basic", "cot"]
    assert llava.profile == "llava" and llava.params == GenerationParams(seed=5)
    assert llava.run_name() == "g-openai-a-basic-cot-llava"
    assert plain.profile is None and plain.params.temperature == 0.2
    assert plain.run_name() == "g-openai-tiny-vlm-basic-cot"
    for overrides, second in (
        (["profile=otter"], "otter"),
        (["models.1.profile=qwen-vl-chat"], "qwen-vl-chat"),
    ):
        grid = load_grid(config, overrides)
        assert [m.profile or grid.profile for m in grid.models] == ["llava", second]
    bad = r"--set models\.0\.profile=nope: models\.0\.profile: Input should be 'claude-3', "
    with pytest.raises(EIBenchError, match=bad):
        load_grid(config, ["models.0.profile=nope"])
    with pytest.raises(EIBenchError, match="7 is not an index of models"):
        load_grid(config, ["models.7.profile=otter"])


def test_the_paper_config_uses_a_profile_that_the_environment_can_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EIBENCH_IMAGES", str(tmp_path))
    assert load_grid(bundled("paper")).models[0].profile == "llava"
    monkeypatch.setenv("PROFILE", "claude-3")
    assert load_grid(bundled("paper")).models[0].profile == "claude-3"
    monkeypatch.setenv("PROFILE", "")
    assert load_grid(bundled("paper")).models[0].profile is None


def test_eval_answers_with_the_profile_set_on_the_command_line(
    capsys, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    with FakeServer(Behaviour(reply=lambda body: "{score: 1/5}")) as server:
        config = _grid_file(tmp_path, server.openai_url)
        result = invoke(
            capsys, "eval", "--config", str(config), "--data", str(release_dir), "--images",
            str(release_images), "--workspace", str(tmp_path / "ws"), "--set", "models=[]",
        )  # fmt: skip
        assert result.code == 2 and "models" in result.err  # a grid needs a model
        result = invoke(
            capsys, "eval", "--config", str(config), "--data", str(release_dir), "--images",
            str(release_images), "--workspace", str(tmp_path / "ws"), "--set", "limit=2",
            "--set", "models.0.spec=openai:tiny-vlm",
            "--set", f"models.0.base_url=[{server.openai_url}]",
            "--set", "models.1.profile=otter", "--set", "settings=[user]",
        )  # fmt: skip
        assert result.code == 0, result.err
        answers = [b for b in server.bodies() if b["model"] == "tiny-vlm"]
    assert len(answers) == 8  # 2 models x 2 splits x 2 samples
    assert sum(b.get("temperature") == 0.4 for b in answers) == 4  # llava
    assert sum(b.get("use_beam_search") is True for b in answers) == 4  # otter
    with Store.open(tmp_path / "ws") as store:
        profiles = {info.config.params.profile for info in store.runs()}
    assert profiles == {"llava@1", "otter@1"}
    shown = invoke(capsys, "report", "--format", "md", "--data", str(release_dir), "--workspace",
                   str(tmp_path / "ws"))  # fmt: skip
    assert shown.code == 0, shown.err  # the report says which rows ran under which profile
    assert "[profile llava@1]" in shown.out and "[profile otter@1]" in shown.out


def test_the_hf_backend_generates_with_what_the_profile_sets(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))
    model = load_model(f"hf:{folder}", ModelOptions(device="cpu"))
    params = load_profile("otter").generation_params().model_copy(update={"max_tokens": 5})
    request = ChatRequest(messages=[Message.text("user", "Why?")], params=params)
    seen: list[object] = []

    async def answer() -> None:
        await model.chat(request)  # loads the model
        inner = model._model
        generate = inner.generate

        def spy(*args: object, **kwargs: object) -> object:
            seen.append(kwargs["generation_config"])
            return generate(*args, **kwargs)

        monkeypatch.setattr(inner, "generate", spy)
        await model.chat(request.model_copy(update={"context": {"again": "1"}}))
        await model.aclose()

    asyncio.run(answer())
    (config,) = seen
    settings = (config.num_beams, config.no_repeat_ngram_size, config.max_new_tokens)
    assert settings == (3, 3, 5)
