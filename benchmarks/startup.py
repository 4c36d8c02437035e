"""Start-up: how long `eibench` takes before it does any work, and what that costs a short job.

    python -m benchmarks.startup [--data ../shared/eibench] [--repeat 7] [--latency 0.2]
                                 [--limit 50] [--concurrency 8] [--workspace DIR]

Every figure is the median over --repeat new `eibench` processes (the console script):

- `eibench --help`, the whole process (target < 0.3 s), beside `python -c pass`;
- `eibench run --model openai:bench --base-url URL`: from starting the process to the arrival
  of its first chat request at a loopback server (target < 1 s);
- `eibench quickstart` run again when everything is stored, the whole process (target < 5 s),
  and whether it imported torch (it reads no model when there is nothing to do). The store is
  filled by one quickstart first (minutes); pass --workspace to keep it for the next time;
- a small job: `eibench run --limit N --concurrency C` against the server answering each request
  after --latency, the whole process against the ideal, N x latency / C.

The server runs in this process (a thread): it records when each request arrives.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELP_TARGET_S, FIRST_REQUEST_TARGET_S, QUICKSTART_TARGET_S = 0.3, 1.0, 5.0
# Runs `eibench quickstart ...` and says on stderr whether torch was imported.
QUICKSTART_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('torch imported:', 'torch' in sys.modules, file=sys.stderr))\n"
    "sys.argv = ['eibench', *sys.argv[1:]]\n"
    "from eibench.__main__ import main\n"
    "main()\n"
)


def _eibench() -> list[str]:
    script = Path(sys.executable).parent / "eibench"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "eibench"]


def _median(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def _timed(command: list[str], env: dict[str, str], check: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    seconds = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} ... failed:\n{done.stderr[-2000:]}")
    return seconds


def _repeat(times: int, measure: Callable[[int], float]) -> list[float]:
    return [measure(i) for i in range(times)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workspace", type=Path, default=None, help="quickstart's store")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from tests.fake_server import Behaviour, FakeServer
    from tests.release_factory import make_images

    from eibench.data import load_split

    env = dict(os.environ, EIBENCH_DATA=str(args.data), OPENAI_API_KEY="sk-local")
    env.pop("EIBENCH_WORKSPACE", None)
    eibench = _eibench()
    print(
        f"{args.repeat} runs each, medians; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )

    floor = _repeat(args.repeat, lambda _: _timed([sys.executable, "-c", "pass"], env))
    help_ = _repeat(args.repeat, lambda _: _timed([*eibench, "--help"], env))
    print(f"python -c pass              {_median(floor)}")
    print(f"eibench --help              {_median(help_)}  (target < {HELP_TARGET_S} s)")

    samples = load_split(args.data, "basic").samples[: args.limit]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        images = make_images(tmp / "images", [s.image for s in samples], size=(8, 8))
        with FakeServer(Behaviour(latency=args.latency)) as server:

            def run(i: int, limit: int, concurrency: int) -> tuple[float, float]:
                """(seconds to the first chat request, seconds of the whole process)"""
                server.reset()
                command = [
                    *eibench, "run", "--model", "openai:bench", "--base-url", server.openai_url,
                    "--images", str(images), "--workspace", str(tmp / f"ws-{limit}-{i}"),
                    "--limit", str(limit), "--concurrency", str(concurrency),
                ]  # fmt: skip
                start = time.monotonic()
                whole = _timed(command, env)
                assert server.count == limit, (server.count, limit)
                return server.requests[0].received_at - start, whole

            first = [run(i, 1, 1)[0] for i in range(args.repeat)]
            print(
                f"run, to its first request   {_median(first)}  "
                f"(target < {FIRST_REQUEST_TARGET_S} s; latency {args.latency} s)"
            )
            jobs = [run(i, args.limit, args.concurrency) for i in range(args.repeat)]

        workspace = args.workspace or tmp / "quickstart"
        quickstart = [
            sys.executable, "-c", QUICKSTART_PROBE, "quickstart", "--workspace", str(workspace),
            "--out", str(tmp / "report.html"),
        ]  # fmt: skip
        if not (workspace / "eibench.sqlite").is_file():
            print(f"filling the quickstart store in {workspace} (one full quickstart) ...")
            _timed(quickstart, env)
        rerun = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(quickstart, capture_output=True, text=True, env=env, cwd=REPO)
            rerun.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"quickstart failed:\n{done.stderr[-2000:]}")
        torch = "torch imported: True" in done.stderr
        print(
            f"quickstart, all stored      {_median(rerun)}  (target < {QUICKSTART_TARGET_S} s; "
            f"{'torch imported: a model was read' if torch else 'no model read'})"
        )

    ideal = args.limit * args.latency / args.concurrency
    whole = [w for _, w in jobs]
    over = statistics.median(whole) - ideal
    print(
        f"run --limit {args.limit} --concurrency {args.concurrency}  {_median(whole)}  (ideal "
        f"{ideal:.2f} s = {args.limit} x {args.latency} s / {args.concurrency}; "
        f"{statistics.median(whole) / ideal:.2f} x ideal, {over:.2f} s over it, "
        f"{statistics.median(f for f, _ in jobs):.2f} s before the first request)"
    )


if __name__ == "__main__":
    main()
