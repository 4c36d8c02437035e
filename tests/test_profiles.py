"""Generation profiles (`--profile NAME`): the request bodies each profile sends, byte for byte,
through the real `eibench run` against a real loopback server; what a run records; and what is
refused. The golden bodies under tests/data/profiles/ say in their headers where each fact
comes from."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from eibench.data import load_split
from eibench.data.schema import SPLITS
from eibench.errors import DataError, EIBenchError
from eibench.models.base import (
    ChatRequest,
    GenerationParams,
    ImagePart,
    Message,
    TextPart,
)
from eibench.profiles import PROFILES, load_profile, profile_names, read_profile
from eibench.settings.presentation import Presentation, template_problem
from eibench.store import Store
from tests.cli import invoke
from tests.fake_server import Behaviour, FakeServer

GOLDEN = Path(__file__).parent / "data" / "profiles"
BUNDLED = (
    "claude-3", "gpt-4v", "llava", "minigpt-v2", "otter", "qwen-vl-chat", "qwen-vl-plus",
    "video-llava",
)  # fmt: skip
CASES = [
    (name, split, setting)
    for name in BUNDLED
    for split in SPLITS
    for setting in load_profile(name).settings(split)
]
BEFORE = [("basic", "user"), ("basic", "cot"), ("basic", "caption"), ("complex", "user")]


@pytest.fixture
def server():
    with FakeServer(Behaviour()) as srv:
        yield srv


def _run(capsys, server: FakeServer, release: Path, images: Path, ws: Path, *args: str):
    model = next((a for a in args if a.startswith("anthropic:")), "openai:tiny-vlm")
    url = server.anthropic_url if model.startswith("anthropic:") else server.openai_url
    rest = [a for a in args if a != model]
    return invoke(
        capsys, "run", "--model", model, "--base-url", url, "--data", str(release),
        "--images", str(images), "--workspace", str(ws), "--timeout", "5", *rest,
    )  # fmt: skip


def _masked(server: FakeServer, images: Path, keys: list[str]) -> list[str]:
    bodies = []
    for request in server.requests:
        text = request.raw.decode("utf-8")
        for key in keys:
            encoded = base64.b64encode((images / key).read_bytes()).decode()
            text = text.replace(encoded, f"<base64 of {key}>")
        bodies.append(text)
    return bodies


def _golden(name: str) -> list[str]:
    lines = (GOLDEN / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.startswith("#")]


def _golden_run(capsys, server, release_dir, images, tmp_path, profile, split, setting):
    model = "anthropic:tiny-claude" if profile == "claude-3" else "openai:tiny-vlm"
    flags = ["--profile", profile] if profile else []
    args = ("--split", split, "--setting", setting, "--limit", "3", "--concurrency", "1")
    result = _run(capsys, server, release_dir, images, tmp_path, model, *args, *flags)
    assert result.code == 0, result.err
    keys = [s.image for s in load_split(release_dir, split).samples[:3]]
    return _masked(server, images, keys)


@pytest.mark.parametrize(("profile", "split", "setting"), CASES)
def test_every_profile_setting_sends_its_golden_bodies(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path, profile, split, setting
) -> None:
    case = (profile, split, setting)
    sent = _golden_run(capsys, server, release_dir, release_images, tmp_path, *case)
    assert sent == _golden(f"{profile}-{split}-{setting}")


@pytest.mark.parametrize(("split", "setting"), BEFORE)
def test_a_run_without_a_profile_sends_what_it_sent_before(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path, split, setting
) -> None:
    sent = _golden_run(capsys, server, release_dir, release_images, tmp_path, None, split, setting)
    assert sent == _golden(f"none-{split}-{setting}")


def test_every_golden_file_is_a_profile_setting_and_every_profile_is_bundled() -> None:
    expected = {f"{p}-{sp}-{se}" for p, sp, se in CASES} | {f"none-{a}-{b}" for a, b in BEFORE}
    assert {p.stem for p in GOLDEN.glob("*.txt")} == expected
    assert profile_names() == BUNDLED
    assert all(load_profile(name).label == f"{name}@1" for name in BUNDLED)


def test_an_unknown_profile_is_one_line_listing_the_known_ones(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    result = _run(capsys, server, release_dir, release_images, tmp_path, "--profile", "gpt4")
    assert result.code == 2 and server.count == 0
    assert len(result.err.strip().splitlines()) == 1
    assert "unknown generation profile 'gpt4' (one of " in result.err
    assert all(name in result.err for name in BUNDLED)


def test_the_profile_is_recorded_in_the_run_config_and_the_export(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    args = ("--split", "complex", "--limit", "3", "--profile", "llava", "--seed", "7")
    assert _run(capsys, server, release_dir, release_images, tmp_path, *args).code == 0
    name = "openai-tiny-vlm-complex-user-llava"  # the default run name carries the profile
    with Store.open(tmp_path) as store:
        config = store.require_run(name)
    assert config.params.profile == "llava@1" and config.params.temperature == 0.4
    assert config.params.seed == 7 and all(b["seed"] == 7 for b in server.bodies())
    out = tmp_path / "run.jsonl"
    exported = invoke(
        capsys, "export", "--run", name, "--format", "jsonl", "--out", str(out),
        "--workspace", str(tmp_path), "--data", str(release_dir),
    )  # fmt: skip
    assert exported.code == 0, exported.err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3
    assert {r["config"]["params"]["profile"] for r in records} == {"llava@1"}
    listing = invoke(capsys, "runs", "--workspace", str(tmp_path))
    assert "llava@1" in listing.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "llava", "--temperature", "0"), "drop --temperature (or --profile)"),
        (("--profile", "otter", "--max-tokens", "9", "--top-p", "0.5"), "drop --max-tokens, --top"),
        (("--profile", "llava", "--persona", "none"), "sets the prompt: drop --persona none"),
        (("--profile", "llava", "--setting", "caption", "--text-only"), "drop --text-only"),
        (("--profile", "gpt-4v", "--setting", "cot"), "has no cot prompt for the basic split"),
        (("--profile", "llava", "--setting", "cfsa"), "it has: user, cot, caption"),
    ],
)
def test_what_a_profile_sets_is_refused_beside_it(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path, args, message
) -> None:
    result = _run(capsys, server, release_dir, release_images, tmp_path, *args)
    assert result.code == 2 and server.count == 0
    assert message in result.err and len(result.err.strip().splitlines()) == 1


def test_another_profile_is_another_run_and_never_reuses_answers(
    capsys, server, release_dir: Path, release_images: Path, tmp_path: Path
) -> None:
    base = ("--split", "complex", "--limit", "3")
    assert _run(capsys, server, release_dir, release_images, tmp_path, *base, "--profile",
                "llava", "--run", "r").code == 0  # fmt: skip
    clash = _run(capsys, server, release_dir, release_images, tmp_path, *base, "--profile",
                 "video-llava", "--run", "r")  # fmt: skip
    assert clash.code == 2 and "different configuration" in clash.err and server.count == 3
    other = _run(capsys, server, release_dir, release_images, tmp_path, *base, "--profile",
                 "video-llava")  # fmt: skip
    assert other.code == 0 and server.count == 6  # asked again: nothing from llava's cache
    bodies = [r.raw for r in server.requests]
    assert bodies[:3] == bodies[3:]  # the very same requests: only the profile tells them apart
    plain = _run(capsys, server, release_dir, release_images, tmp_path, *base)
    assert plain.code == 0 and server.count == 9


def test_cache_keys_without_a_profile_are_the_ones_from_before() -> None:
    """Keys computed with eibench before profiles (HEAD ffeedd4): every cached answer stays."""
    image = ImagePart(media_type="image/png", data=b"\x89PNG fake")
    msgs = [Message(role="user", content=[image, TextPart(text="Why is she happy?")])]
    sampled = GenerationParams(temperature=0.4, max_tokens=100, top_p=0.9, seed=7)
    schema = GenerationParams(logprobs=5, json_schema={"type": "object"})
    keys = [
        (ChatRequest(messages=msgs, context={"sample_id": "s1"}), "63cf7c95d6087d81"),
        (ChatRequest(messages=msgs, params=sampled), "ae393843ad7a5d2d"),
        (ChatRequest(messages=msgs, params=schema), "78e9563749288dcc"),
    ]
    for request, prefix in keys:
        assert request.cache_key("openai:m").startswith(prefix)
    tagged = ChatRequest(messages=msgs, params=GenerationParams(profile="x@1"))
    assert tagged.cache_key("openai:m") != ChatRequest(messages=msgs).cache_key("openai:m")


def _write(tmp_path: Path, text: str, name: str = "p") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = 'name = "p"\nversion = 1\ndescription = "d"\nsources = ["s.py"]\n'
USER = '[prompts.basic]\nuser = "Look, {question}"\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD + USER.replace("Look", "{persona} Look"), "unknown placeholder {persona}"),
        (GOOD + USER.replace("{question}", "{question:upper}"), "unknown transform"),
        (GOOD + USER.replace("{question}", "the question"), "has no {question}"),
        (GOOD + '[prompts.basic]\ncaption = "{question}"\n', "has no {caption}"),
        (GOOD + '[prompts.basic]\nnope = "{question}"\n', "prompts.basic.nope: unknown setting"),
        (GOOD + '[prompts.basic]\ncfsa = "{question}"\n', "runs as a pipeline"),
        (GOOD + "temperature = 0.2\n" + USER, "unknown key 'temperature'"),
        (GOOD + "[params]\ntemp = 0.2\n" + USER, "params: unknown key 'temp'"),
        (GOOD + "[params]\nnum_beams = 0\n" + USER, "params.num_beams"),
        (GOOD + 'image_label = "image/png"\n' + USER, "image_label"),
        (GOOD + '[prompts.basic]\nuser = "{question}', "not valid TOML"),
        (GOOD.replace("version = 1\n", "") + USER, "missing key 'version'"),
    ],
)
def test_a_bad_profile_file_is_one_line_naming_the_file(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DataError) as caught:
        read_profile(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_a_registered_profile_file_is_usable_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + USER + "[params]\nmax_tokens = 9\n", name="mine")
    with pytest.raises(EIBenchError, match="registered as 'mine'"):
        PROFILES.register("mine", path)
        try:
            load_profile("mine")
        finally:
            PROFILES.unregister("mine")
    good = _write(tmp_path, (GOOD + USER).replace('"p"', '"mine"'), name="mine")
    PROFILES.register("mine", good)
    try:
        assert load_profile("mine").presentation("basic", "user").prompt("Why?") == "Look, Why?"
    finally:
        PROFILES.unregister("mine")


def test_a_presentation_words_orders_and_labels_as_its_profile_says() -> None:
    shown = Presentation(source="x@1", template="A {question:lower}.", content="text-first",
                         image_label="image/jpeg")  # fmt: skip
    assert shown.prompt("Why IS She Sad?") == "A why is she sad?."
    image = ImagePart(media_type="image/png", data=b"png")
    text, labelled = shown.parts(image, "t")
    assert isinstance(text, TextPart) and isinstance(labelled, ImagePart)
    assert labelled.media_type == "image/jpeg" and labelled.data == b"png"
    assert template_problem("{question} {{literal}}", caption=False) is None
    assert template_problem("{question!r}", caption=False) is not None
    assert shown.version() != shown.model_copy(update={"image_label": "real"}).version()
