"""The engine tier: real engines serving real instruct models on 127.0.0.1.

`scripts/provision-engines` puts the engines and models in `$EIBENCH_ENGINES` (default
~/.cache/eibench-engines) and writes `engines.json`; these fixtures read it and fail loudly
when it is missing. Each engine starts on a free port, is waited for on its `/v1/models`
endpoint, and is stopped by PID (its whole process group) afterwards, also when a test fails.
Every test here is marked `engine`: `pytest -m "not engine"` runs the fast tier alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SMALL = "qwen2.5-coder-0.5b-instruct"  # fast; does not follow the score format
INSTRUCT = "qwen2.5-coder-1.5b-instruct"  # follows instructions, slower
START_TIMEOUT = 300.0  # vLLM's CPU build takes a minute or two on a busy machine


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.engine)


def manifest() -> dict[str, object]:
    cache = Path(os.environ.get("EIBENCH_ENGINES") or Path.home() / ".cache" / "eibench-engines")
    path = cache / "engines.json"
    if not path.is_file():
        raise RuntimeError(
            f"the engine tier needs {path}: run `python scripts/provision-engines` first "
            "(or set EIBENCH_ENGINES to where it provisioned)"
        )
    data: dict[str, object] = json.loads(path.read_text())
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Engine:
    """One engine process serving `name` at `url` (an OpenAI-compatible base URL)."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Engine:
        start = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as one
            )
        while time.monotonic() - start < START_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as reply:
                    if reply.status == 200:
                        self.started_in = time.monotonic() - start
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT:g} s")

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def llama_cpp(model: str, log_dir: Path, *, context: int = 2048, threads: int = 2) -> Engine:
    """llama-cpp-python's OpenAI-compatible server for one of the provisioned models."""
    info = manifest()
    engine = info["llama-cpp-python"]
    models = info["models"]
    assert isinstance(engine, dict) and isinstance(models, dict)
    command = [
        engine["python"], "-m", "llama_cpp.server", "--model", models[model],
        "--model_alias", model, "--host", "127.0.0.1", "--n_ctx", str(context),
        "--n_threads", str(threads),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": engine["pythonpath"]}
    return Engine(model, command, env, log_dir / f"{model}-{free_port()}.log")


def vllm(log_dir: Path, *, context: int = 2048) -> Engine:
    """vLLM's CPU build serving the 0.5B model (dequantized to bf16 by the provisioning)."""
    info = manifest()["vllm"]
    assert isinstance(info, dict)
    command = [
        info["python"], "-m", "vllm.entrypoints.openai.api_server", "--model", info["model"],
        "--served-model-name", SMALL, "--host", "127.0.0.1", "--dtype", "bfloat16",
        "--max-model-len", str(context), "--enforce-eager",
    ]  # fmt: skip
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "HF_HUB_OFFLINE": "1",
    }
    return Engine(SMALL, command, env, log_dir / f"vllm-{free_port()}.log")


@pytest.fixture(scope="session")
def engine_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine-logs")


def _serving(engine: Engine) -> Iterator[Engine]:
    """`engine` started, for a fixture's lifetime; stopped afterwards, also on failure."""
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def small_llm(engine_logs: Path) -> Iterator[Engine]:
    """Qwen2.5-Coder-0.5B-Instruct on llama.cpp, for the whole session."""
    yield from _serving(llama_cpp(SMALL, engine_logs))


@pytest.fixture(scope="session")
def instruct_llm(engine_logs: Path) -> Iterator[Engine]:
    """Qwen2.5-Coder-1.5B-Instruct on llama.cpp, for the whole session."""
    yield from _serving(llama_cpp(INSTRUCT, engine_logs))


@pytest.fixture(scope="session")
def vllm_small(engine_logs: Path) -> Iterator[Engine]:
    """Qwen2.5-Coder-0.5B-Instruct on vLLM (CPU), for the whole session."""
    yield from _serving(vllm(engine_logs))
