"""The call cache keys an API model's answers by the server that gave them: the same run
against another server asks that server; replicas listed together, or servers declared the
same with --cache-as, share answers; the default endpoint's keys are those of before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eibench.models.base import ChatRequest, Message
from eibench.models.endpoint import cache_identity, endpoint_identity, normal_url
from eibench.models.registry import ModelOptions, load_model
from tests.cli import Result, invoke
from tests.fake_server import Behaviour, FakeServer
from tests.one_line import assert_one_line_error

N = 4
FROM_CACHE = f"all {N} answers came from the cache; nothing was sent to"


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EIBENCH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


@pytest.fixture
def two():
    with FakeServer(Behaviour()) as a, FakeServer(Behaviour()) as b:
        yield a, b


def run(capsys, release_dir: Path, ws: Path, name: str, *args: str) -> Result:
    return invoke(
        capsys, "run", "--model", "openai:m", "--run", name, "--data", str(release_dir),
        "--workspace", str(ws), "--split", "complex", "--text-only", "--limit", str(N),
        "--timeout", "5", *args,
    )  # fmt: skip


def generations(ws: Path, name: str) -> int:
    db = sqlite3.connect(ws / "eibench.sqlite")
    return int(db.execute("SELECT COUNT(*) FROM generations WHERE run = ?", (name,)).fetchone()[0])


def test_the_same_run_against_another_server_sends_its_requests_there(
    capsys, two: tuple[FakeServer, FakeServer], release_dir: Path, tmp_path: Path
) -> None:
    a, b = two
    first = run(capsys, release_dir, tmp_path, "at-a", "--base-url", a.openai_url)
    assert first.code == 0 and a.count == N
    assert FROM_CACHE not in first.out
    again = run(capsys, release_dir, tmp_path, "again-at-a", "--base-url", a.openai_url + "/")
    assert again.code == 0 and a.count == N  # the same server (a trailing slash): cached
    assert f"{FROM_CACHE} openai:m at {a.openai_url}" in again.out
    second = run(capsys, release_dir, tmp_path, "at-b", "--base-url", b.openai_url)
    assert second.code == 0, second.err
    assert b.count == N and a.count == N  # asked at b, not answered with a's replies
    assert FROM_CACHE not in second.out


def test_a_dead_server_fails_pre_flight_instead_of_answering_from_the_cache(
    capsys, release_dir: Path, tmp_path: Path
) -> None:
    with FakeServer() as server:
        url = server.openai_url
        assert run(capsys, release_dir, tmp_path, "live", "--base-url", url).code == 0
    with FakeServer() as gone:
        dead = gone.openai_url
    result = run(capsys, release_dir, tmp_path, "dead", "--base-url", dead)
    assert_one_line_error(result, "pre-flight", dead, "connection failed")
    assert generations(tmp_path, "dead") == 0


def test_replicas_listed_together_share_cached_answers(
    capsys, two: tuple[FakeServer, FakeServer], release_dir: Path, tmp_path: Path
) -> None:
    a, b = two
    both = ("--base-url", a.openai_url, "--base-url", b.openai_url)
    assert run(capsys, release_dir, tmp_path, "ab", *both).code == 0
    assert a.count + b.count == N and a.count > 0 and b.count > 0  # spread over both
    swapped = ("--base-url", b.openai_url + "/", "--base-url", a.openai_url)
    again = run(capsys, release_dir, tmp_path, "ba", *swapped)
    assert again.code == 0
    assert a.count + b.count == N  # the same pair, listed the other way: all cached
    assert FROM_CACHE in again.out and a.openai_url in again.out and b.openai_url in again.out
    alone = run(capsys, release_dir, tmp_path, "a-alone", "--base-url", a.openai_url)
    assert alone.code == 0 and a.count + b.count == 2 * N  # one of the pair is another endpoint


def test_servers_declared_the_same_with_cache_as_share_answers(
    capsys, two: tuple[FakeServer, FakeServer], release_dir: Path, tmp_path: Path
) -> None:
    a, b = two
    same = ("--cache-as", "qwen-vl-7b")
    assert run(capsys, release_dir, tmp_path, "a", "--base-url", a.openai_url, *same).code == 0
    assert a.count == N
    shared = run(capsys, release_dir, tmp_path, "b", "--base-url", b.openai_url, *same)
    assert shared.code == 0 and b.count == 0
    assert f"{FROM_CACHE} openai:m at {b.openai_url}" in shared.out
    other = run(capsys, release_dir, tmp_path, "c", "--base-url", b.openai_url, "--cache-as", "x")
    assert other.code == 0 and b.count == N  # another name, another endpoint


def test_a_blank_cache_as_name_is_refused(capsys, release_dir: Path, tmp_path: Path) -> None:
    result = run(capsys, release_dir, tmp_path, "r", "--cache-as", " ")
    assert_one_line_error(result, "cache_as")


def test_the_default_endpoint_keeps_the_cache_keys_of_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    official = load_model("openai:gpt-4o")
    assert cache_identity(official) == "openai:gpt-4o"
    spelled = load_model("openai:gpt-4o", ModelOptions(base_urls=["HTTPS://api.openai.com/v1/"]))
    assert cache_identity(spelled) == "openai:gpt-4o"
    assert cache_identity(load_model("anthropic:claude")) == "anthropic:claude"
    assert cache_identity(load_model("prior")) == "prior"
    # The key of a request to the default endpoint, as eibench computed it before endpoints
    # counted: users' cached answers from api.openai.com stay valid.
    request = ChatRequest(messages=[Message.text("user", "Why is she happy?")])
    assert request.cache_key(cache_identity(official)) == (
        "36b2d4447ad26f4b9a3de1b45932c9d6e46bc624c1db6c26f3f1b188f3639506"
    )
    elsewhere = load_model("openai:gpt-4o", ModelOptions(base_urls=["http://gpu1:8000/v1"]))
    assert cache_identity(elsewhere) == "openai:gpt-4o@http://gpu1:8000/v1"
    declared = ModelOptions(base_urls=["http://gpu1:8000/v1"], cache_as="default")
    assert cache_identity(load_model("openai:gpt-4o", declared)) == "openai:gpt-4o"


def test_endpoint_identity_is_the_sorted_set_of_normalised_urls() -> None:
    assert normal_url("HTTP://Host:80/v1/") == "http://host/v1"
    assert normal_url("https://user:pw@h:8443/v1?x=1#f") == "https://h:8443/v1"
    urls = ["http://b:8000/v1", "http://a:8000/v1/", "http://B:8000/v1"]
    assert endpoint_identity("openai:m", urls, "https://api.openai.com/v1") == (
        "openai:m@http://a:8000/v1,http://b:8000/v1"
    )
    assert endpoint_identity("openai:m", urls, "x", cache_as=" same ") == "openai:m@same"
