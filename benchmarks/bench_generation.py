"""Generation speed and memory against a loopback OpenAI-compatible server.

    python -m benchmarks.bench_generation [--data ../shared/eibench] [--latency 0.2]

The server answers every request after a fixed latency and runs in its own process, so its
CPU is not counted. Prints: the time of a full basic run at --concurrency 64 against the ideal
(ceil(1615/64) x latency), the speed-up over a one-at-a-time client (timed on a subset and
scaled), the harness's CPU time per sample, the time of a rerun of the finished run (a new
`eibench run` process, 0 requests), and peak RSS.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_server", "--latency", str(latency)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ready at" not in line:
        process.kill()
        raise SystemExit(f"fake server did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1].strip() + "/v1"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serial-samples", type=int, default=15)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    import openai  # noqa: F401  (imported up front: its import is no per-sample cost)
    from tests.release_factory import make_images

    from eibench.answers.benchmark import RunRequest, run_benchmark
    from eibench.data import load_split
    from eibench.models.registry import ModelOptions

    os.environ.setdefault("OPENAI_API_KEY", "sk-local")
    samples = load_split(args.data, "basic").samples
    n = len(samples)
    server, url = _start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            images = make_images(Path(tmp) / "images", [s.image for s in samples], size=(8, 8))
            ws = Path(tmp) / "ws"
            common = dict(
                model="openai:bench",
                data=args.data,
                images=images,
                workspace=ws,
                options=ModelOptions(base_urls=[url], timeout=30),
            )
            cpu0, wall0 = time.process_time(), time.perf_counter()
            _, summary = run_benchmark(
                RunRequest(run="fast", concurrency=args.concurrency, **common)
            )
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
            assert summary.ok == n and summary.requests == n, summary

            serial_ids = [s.id for s in samples[: args.serial_samples]]
            t0 = time.perf_counter()
            run_benchmark(
                RunRequest(
                    run="serial", concurrency=1, sample_ids=serial_ids, use_cache=False, **common
                )
            )
            serial_per_sample = (time.perf_counter() - t0) / len(serial_ids)

            t0 = time.perf_counter()
            rerun = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "eibench",
                    "run",
                    "--model",
                    "openai:bench",
                    "--base-url",
                    url,
                    "--data",
                    str(args.data),
                    "--images",
                    str(images),
                    "--workspace",
                    str(ws),
                    "--run",
                    "fast",
                    "--concurrency",
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rerun_seconds = time.perf_counter() - t0
            assert "requests        │     0" in rerun.stdout or "0 │" in rerun.stdout
    finally:
        server.kill()

    ideal = math.ceil(n / args.concurrency) * args.latency
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"samples                     {n}")
    print(
        f"full run, concurrency {args.concurrency:<4}  {wall:.2f} s  (ideal {ideal:.2f} s, "
        f"{wall / ideal:.3f} x ideal; target <= 1.15)"
    )
    print(
        f"one-at-a-time client        {serial_per_sample * n:.1f} s  (scaled from "
        f"{len(serial_ids)} samples)"
    )
    print(f"speed-up over serial        {serial_per_sample * n / wall:.1f} x  (target >= 40)")
    print(
        f"harness CPU per sample      {cpu / n * 1000:.2f} ms  (target < 2 ms; whole run: data "
        "load, client set-up, 8x8 images, SDK and HTTP stack)"
    )
    print(f"rerun of the finished run   {rerun_seconds:.2f} s, 0 requests  (target < 3 s)")
    print(f"peak RSS                    {peak_mb:.0f} MB  (target < 500 MB)")


if __name__ == "__main__":
    main()
