"""Backends, settings and judge protocols are registered by name: each registry lists the
built-in names, the CLI and the experiment files offer exactly those, and whatever a test
registers is usable by its name."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest
from pydantic import ValidationError

from eibench.answers.benchmark import RunRequest, run_benchmark
from eibench.data import SPLITS, load_split
from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.experiments.config import Grid, GridJudge, GridParams
from eibench.judges.panel import Panel
from eibench.judges.protocols import (
    PROTOCOL_KINDS,
    LLMProtocol,
    get_protocol,
    llm_protocol,
    register_protocol,
    released,
)
from eibench.judges.request import JudgeRequest
from eibench.judges.run import judge_run
from eibench.models.base import ChatRequest, ChatResponse, GenerationParams, Message
from eibench.models.options import ModelOptions
from eibench.models.registry import BACKENDS, load_model, parse_spec, register_backend
from eibench.records.verdict import JudgeParseError, Verdict
from eibench.registry import Registry
from eibench.settings import PERSONAS, Setting, SettingKind, register_setting
from eibench.settings.kinds import SETTING_KINDS
from eibench.store import Store
from tests.cli import invoke

# `eibench.cli.run` is also the CLI's entry point function, so the modules are looked up by name.
run_cli, judge_cli, score_cli = (
    importlib.import_module(f"eibench.cli.{m}") for m in ("run", "judge", "score")
)

BUILTIN_SCHEMES = ("openai", "anthropic", "hf", "prior")
BUILTIN_SETTINGS = ("user", "cot", "caption", "cfsa")
BUILTIN_PROTOCOLS = ("semantic", "paper-llama3", "paper-chatgpt", "triggers", "entail")
BUILTIN_PERSONAS = ("emotion", "assistant", "architecture", "none")


def _literal_values(annotation: Any) -> tuple[str, ...]:
    """The values of a Literal, seen through Annotated, Optional and list."""
    origin = get_origin(annotation)
    if origin is None:
        return ()
    args = get_args(annotation)
    if all(isinstance(a, str) for a in args):
        return args
    if origin in (Union, types.UnionType, list):
        return tuple(v for a in args for v in _literal_values(a))
    return _literal_values(args[0])  # Annotated[T, ...]


def _choices(command: Any, param: str) -> tuple[str, ...]:
    return _literal_values(get_type_hints(command, include_extras=True)[param])


# The registries list the built-in names -------------------------------------------------------


def test_each_registry_lists_the_built_in_names_in_order() -> None:
    assert BACKENDS.names() == BUILTIN_SCHEMES
    assert SETTING_KINDS.names() == BUILTIN_SETTINGS
    assert PROTOCOL_KINDS.names() == BUILTIN_PROTOCOLS
    assert PERSONAS == BUILTIN_PERSONAS


def test_cli_choices_are_the_registry_names() -> None:
    assert _choices(run_cli.run, "setting") == SETTING_KINDS.names()
    assert _choices(run_cli.run, "persona") == PERSONAS
    assert _choices(run_cli.run, "split") == SPLITS
    assert _choices(judge_cli.judge, "protocol") == PROTOCOL_KINDS.names()
    assert _choices(score_cli.score, "protocol") == PROTOCOL_KINDS.names()
    assert _choices(score_cli.score, "split") == SPLITS  # one split file at a time


def test_run_help_lists_the_registered_settings_and_personas(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = invoke(capsys, "run", "--help")
    assert result.code == 0
    assert f"<{'|'.join(SETTING_KINDS.names())}>" in result.out
    assert f"<{'|'.join(PERSONAS)}>" in result.out


def test_experiment_and_panel_files_take_the_registry_names() -> None:
    assert _literal_values(Grid.model_fields["settings"].annotation) == SETTING_KINDS.names()
    assert _literal_values(Grid.model_fields["splits"].annotation) == get_args(Split)
    assert _literal_values(GridJudge.model_fields["protocol"].annotation) == PROTOCOL_KINDS.names()
    assert _literal_values(Panel.model_fields["protocol"].annotation) == PROTOCOL_KINDS.names()
    with pytest.raises(ValidationError, match="'user', 'cot', 'caption' or 'cfsa'"):
        Grid.model_validate({"models": [{"spec": "prior"}], "settings": ["nope"]})


def test_an_unknown_name_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(EIBenchError, match=r"unknown judge protocol 'nope' \(one of semantic, "):
        get_protocol("nope")
    with pytest.raises(
        EIBenchError, match="use openai:MODEL, anthropic:MODEL, hf:ID_OR_DIR or prior"
    ):
        parse_spec("nope:x")
    with pytest.raises(ValidationError, match="Input should be 'user', 'cot', 'caption' or 'cfsa'"):
        Setting(name="nope")


def test_a_name_is_registered_once_unless_replaced() -> None:
    registry: Registry[int] = Registry("number")
    registry.register("one", 1)
    with pytest.raises(ValueError, match="registered already"):
        registry.register("one", 2)
    registry.register("one", 3, replace=True)
    assert registry.get("one") == 3 and registry.names() == ("one",)


# The classes carry their behaviour ------------------------------------------------------------


def test_protocols_carry_their_own_prompts_and_sampling() -> None:
    base = GenerationParams(seed=3)
    triggers, paper = llm_protocol("triggers"), llm_protocol("paper-llama3")
    assert triggers.params(base).json_schema is not None
    assert paper.params(base) == base
    assert released(paper).params(base).temperature == 0.1
    assert released(paper).version("basic").endswith("-release")
    assert paper.version("basic") != llm_protocol("paper-chatgpt").version("basic")
    assert get_protocol("semantic").uses_model is False
    with pytest.raises(EIBenchError, match="does not ask a judge model"):
        llm_protocol("semantic")


def test_setting_kinds_say_what_they_need() -> None:
    assert [Setting(name=n).needs_caption for n in BUILTIN_SETTINGS] == [False, False, True, False]
    assert Setting(name="caption", text_only=True).templates()[0] == "caption_text_only"


def test_grid_params_keep_their_bounds_and_keys() -> None:
    assert list(GridParams.model_fields) == ["temperature", "max_tokens", "top_p", "seed"]
    for bad in ({"temperature": -1}, {"temperature": float("inf")}, {"max_tokens": 0},
                {"top_p": 0}, {"top_p": 1.5}, {"json_schema": {}}):  # fmt: skip
        with pytest.raises(ValidationError):
            GridParams.model_validate(bad)
    with pytest.raises(EIBenchError, match="generation params: max_tokens: "):
        GenerationParams(max_tokens=0)


# Importing the registry stays light -----------------------------------------------------------


def test_importing_the_model_registry_imports_no_sdk_and_no_torch() -> None:
    code = (
        "import sys\n"
        "from eibench.models.registry import load_model, parse_spec\n"
        "parse_spec('openai:gpt-4o'); parse_spec('hf:x'); load_model('prior')\n"
        "heavy = ('openai', 'anthropic', 'torch', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# What a test registers is usable by name ------------------------------------------------------


class EchoModel:
    """A backend for tests: answers every request with the same short text."""

    def __init__(self, name: str) -> None:
        self.spec = f"testscheme:{name}"
        self.seen: list[ChatRequest] = []

    @classmethod
    def load(cls, name: str, options: ModelOptions, samples: Sequence[Any]) -> EchoModel:
        return cls(name)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.seen.append(request)
        return ChatResponse(text="A broken cup and a shout.")

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class ShoutSetting(SettingKind):
    """The question in capitals, with no template of its own."""

    def templates(self, text_only: bool) -> list[str]:
        return []

    def prompt(self, values: Mapping[str, str], caption: str | None, text_only: bool) -> str:
        return values["question"].upper()


@dataclass(frozen=True)
class EverythingProtocol(LLMProtocol):
    """A judge protocol for tests: every trigger counts as found."""

    def messages(self, split: Split, answer: str, triggers: Sequence[str]) -> list[Message]:
        return [Message.text("user", f"{answer} vs {len(triggers)}")]

    def parse(self, text: str, n_triggers: int) -> Verdict:
        return Verdict(correct=n_triggers, total=n_triggers)

    def reask(self, error: JudgeParseError) -> Message:
        return Message.text("user", str(error))

    def version(self, split: Split) -> str:
        return "everything-v1"


@pytest.fixture
def registered() -> Iterator[None]:
    register_backend("testscheme", EchoModel, usage="testscheme:NAME")
    register_setting(ShoutSetting("shout"))
    register_protocol(EverythingProtocol("everything"))
    yield
    BACKENDS.unregister("testscheme")
    SETTING_KINDS.unregister("shout")
    PROTOCOL_KINDS.unregister("everything")


def test_a_registered_backend_answers_load_model(registered) -> None:
    model = load_model("testscheme:x")
    assert isinstance(model, EchoModel) and model.spec == "testscheme:x"
    with pytest.raises(EIBenchError, match="hf:ID_OR_DIR, prior or testscheme:NAME"):
        parse_spec("nope:x")
    with pytest.raises(EIBenchError, match="needs a model name after 'testscheme:'"):
        parse_spec("testscheme:")


def test_a_backend_registered_by_reference_is_imported_on_first_use(registered) -> None:
    register_backend("testref", f"{__name__}:EchoModel")
    try:
        assert isinstance(load_model("testref:y"), EchoModel)
    finally:
        BACKENDS.unregister("testref")


def test_a_registered_setting_is_usable_by_name(registered, release_dir: Path) -> None:
    sample = load_split(release_dir, "basic").samples[0]
    setting = Setting(name="shout", persona="none")
    [message] = setting.messages(sample, image=None)
    assert message.plain_text() == sample.question.upper()
    assert setting.prompt_version() == Setting(name="shout", persona="none").prompt_version()
    assert setting.prompt_version() != Setting(name="shout", persona="emotion").prompt_version()


def test_a_registered_backend_and_protocol_run_and_judge_by_name(
    registered, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    name, summary = run_benchmark(
        RunRequest(
            model="testscheme:m",
            run="r",
            data=release_dir,
            images=release_images,
            workspace=ws,
            limit=3,
        )
    )
    assert (name, summary.ok) == ("r", 3)
    judged = judge_run(
        JudgeRequest(
            run="r",
            protocol="everything",
            judge="testscheme:j",
            data=release_dir,
            workspace=ws,
            coherence=False,
        )
    )
    assert (judged.protocol, judged.ok) == ("everything", 3)
    with Store.open(ws) as store:
        verdicts = [j.verdict for j in store.judgments("r") if j.protocol == "everything"]
    assert len(verdicts) == 3 and all(v is not None and v.recall == 1.0 for v in verdicts)
