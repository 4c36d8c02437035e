"""Bad TOML files (the user config's `[prices]`, judge panel files) and bad base URLs: one line
on stderr naming the file and the problem, exit 2, no traceback, and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from eibench.errors import EIBenchError
from eibench.judges.panel import ProtocolName
from eibench.judges.protocols import PROTOCOLS
from eibench.models.registry import ModelOptions, base_url_problem
from eibench.runner.cost import price_table
from tests.cli import Result, invoke
from tests.one_line import assert_refused as refused


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("EIBENCH_CONFIG", str(path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return path


def run_prior(capsys: pytest.CaptureFixture[str], release_dir: Path, ws: Path) -> Result:
    return invoke(capsys, "run", "--model", "prior", "--limit", "2", "--data", str(release_dir),
                  "--workspace", str(ws))  # fmt: skip


def judge_panel(capsys: pytest.CaptureFixture[str], panel: Path, ws: Path) -> Result:
    return invoke(capsys, "judge", "--run", "r", "--panel", str(panel), "--workspace", str(ws))


DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_TABLES = "x = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"


@pytest.mark.parametrize("text", [DEEP, DEEP_TABLES], ids=["arrays", "inline-tables"])
def test_deeply_nested_config_file_is_one_line(
    capsys, config: Path, release_dir: Path, ws: Path, text: str
) -> None:
    config.write_text(text)
    refused(run_prior(capsys, release_dir, ws), ws, str(config), "nested too deeply")


@pytest.mark.parametrize("text", [DEEP, DEEP_TABLES], ids=["arrays", "inline-tables"])
def test_deeply_nested_panel_file_is_one_line(capsys, tmp_path: Path, ws: Path, text: str) -> None:
    panel = tmp_path / "panel.toml"
    panel.write_text(text)
    refused(judge_panel(capsys, panel, ws), ws, "panel.toml", "panel file is nested too deeply")


@pytest.mark.parametrize("value", ["[1, 2]", '"cheap"', "3"])
def test_prices_that_are_not_a_table(
    capsys, config: Path, release_dir: Path, ws: Path, value: str
) -> None:
    config.write_text(f"prices = {value}\n")
    refused(run_prior(capsys, release_dir, ws), ws, str(config), "'prices' must be a table")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "greater than or equal to 0"),
        ("-0.5", "greater than or equal to 0"),
        ("nan", "finite number"),
        ("inf", "finite number"),
        ("-inf", "finite number"),
        ("true", "valid number"),
        ('"2.5"', "valid number"),
    ],
)
def test_a_price_is_a_finite_number_not_below_zero(
    capsys, config: Path, release_dir: Path, ws: Path, value: str, problem: str
) -> None:
    config.write_text(f'[prices."prior"]\ninput = 1.0\noutput = {value}\n')
    result = run_prior(capsys, release_dir, ws)
    refused(result, ws, str(config), 'prices."prior": output:', problem)


def test_a_price_that_is_not_a_table(capsys, config: Path, release_dir: Path, ws: Path) -> None:
    config.write_text("[prices]\nprior = 5\n")
    refused(run_prior(capsys, release_dir, ws), ws, 'prices."prior": Input should be')


def test_good_prices_are_read() -> None:
    table = price_table({"openai:m": {"input": 0, "output": 10}}, origin="c.toml")
    assert (table["openai:m"].input, table["openai:m"].output) == (0.0, 10.0)


def test_unknown_panel_protocol_names_the_allowed_ones(capsys, tmp_path: Path, ws: Path) -> None:
    panel = tmp_path / "panel.toml"
    panel.write_text('protocol = "nope"\n[[judge]]\nspec = "openai:x"\n')
    refused(judge_panel(capsys, panel, ws), ws, "panel.toml: protocol:",
            "'semantic', 'paper-llama3', 'paper-chatgpt', 'triggers' or 'entail'")  # fmt: skip


def test_panel_protocols_are_the_judge_protocols() -> None:
    assert get_args(ProtocolName) == PROTOCOLS


def test_panel_key_typo_is_refused_naming_the_key(capsys, tmp_path: Path, ws: Path) -> None:
    panel = tmp_path / "panel.toml"
    panel.write_text(
        'protocol = "paper-llama3"\n[[judge]]\nspec = "openai:x"\n'
        '[[judge]]\nspec = "openai:y"\nbase-url = ["http://gpu:8000/v1"]\n'
    )
    refused(judge_panel(capsys, panel, ws), ws,
            "panel.toml: [[judge]] 2 (spec 'openai:y'): unknown key 'base-url'",
            "(allowed: spec, base_url)")  # fmt: skip


def test_unknown_top_level_panel_key_is_refused(capsys, tmp_path: Path, ws: Path) -> None:
    panel = tmp_path / "panel.toml"
    panel.write_text('[[judges]]\nspec = "openai:x"\n')
    refused(judge_panel(capsys, panel, ws), ws,
            "panel.toml: unknown key 'judges' (allowed: protocol, judge)")  # fmt: skip


@pytest.mark.parametrize("url", ["file:///etc/passwd", "localhost:8000/v1", "http://"])
def test_panel_base_url_must_be_http(capsys, tmp_path: Path, ws: Path, url: str) -> None:
    panel = tmp_path / "panel.toml"
    panel.write_text(f'[[judge]]\nspec = "openai:x"\nbase_url = ["{url}"]\n')
    message = refused(judge_panel(capsys, panel, ws), ws,
                      "panel.toml: [[judge]] 1 (spec 'openai:x'): base_url.0:",
                      "must be http:// or https:// with a host")  # fmt: skip
    assert "passwd" not in message


def test_base_url_flags_must_be_http(capsys, release_dir: Path, ws: Path) -> None:
    result = invoke(capsys, "run", "--model", "openai:m", "--base-url", "file:///etc/passwd",
                    "--limit", "1", "--data", str(release_dir), "--workspace", str(ws))  # fmt: skip
    refused(result, ws, "--base-url:", "must be http:// or https://", "file:")
    result = invoke(capsys, "judge", "--run", "r", "--judge", "openai:m", "--judge-base-url",
                    "ftp://gpu/v1", "--workspace", str(ws))  # fmt: skip
    refused(result, ws, "base_urls.0:", "must be http:// or https://", "ftp:")


@pytest.mark.parametrize(
    "url", ["http://gpu1:8000/v1", "https://api.openai.com/v1", "http://127.0.0.1:9/v1",
            "http://[::1]:8000/v1", "HTTPS://Example.com"],
)  # fmt: skip
def test_http_base_urls_are_accepted(url: str) -> None:
    assert base_url_problem(url) is None
    assert ModelOptions(base_urls=[url]).base_urls == [url]


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://host/x", "localhost:8000", "http://", "https:///v1",
     "http://host:port/v1", "http://a b/v1", "http://host/\n", "", "javascript:alert(1)"],
)  # fmt: skip
def test_other_base_urls_are_one_line_errors(url: str) -> None:
    assert base_url_problem(url) is not None
    with pytest.raises(EIBenchError, match="must be http:// or https:// with a host"):
        ModelOptions(base_urls=[url])


def test_other_bad_model_options_are_one_line_errors() -> None:
    with pytest.raises(EIBenchError, match="model options: batch_size: "):
        ModelOptions(batch_size="many")  # type: ignore[arg-type]
