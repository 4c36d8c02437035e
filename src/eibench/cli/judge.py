"""`eibench judge`: judge a stored run's answers with one or more judges and a protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import ProgressBar, err, out
from eibench.cli.options import (
    AdaptiveOption,
    ConcurrencyOption,
    DataOption,
    FoldOption,
    MaxAttemptsOption,
    NoCacheOption,
    RetryFailedOption,
    TimeoutOption,
    WorkspaceOption,
)
from eibench.errors import EIBenchError
from eibench.judges.cascade import DEFAULT_BAND, Band, Cascade
from eibench.judges.protocols import SEMANTIC, ProtocolName
from eibench.judges.request import JudgeRequest, JudgeSummary
from eibench.metrics.answer_metrics import judge_and_measure
from eibench.models.base import GenerationParams
from eibench.models.options import StructuredOutput
from eibench.models.registry import ModelOptions
from eibench.store import Store

if TYPE_CHECKING:
    from eibench.review.labelled import Labelled

JUDGE_PANEL = "Judge"


ProtocolOption = Annotated[
    ProtocolName | None,
    typer.Option(
        help="semantic: offline embedding judge (no model needed); paper-llama3 / "
        "paper-chatgpt: the release's judge prompts, {score: c/t}; triggers: structured "
        "per-trigger judge with evidence, precision and F1; entail: a yes/no question per "
        "trigger, covered when P(yes) from the judge's logprobs (else its word) >= 0.5 (or "
        "a --judge-config's threshold). Default: semantic, or the panel's or judge "
        "configuration's protocol.",
        rich_help_panel=JUDGE_PANEL,
        show_default=False,
    ),
]
JudgesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--judge",
        help="Judge model spec (openai:MODEL, anthropic:MODEL, hf:ID); repeat for a panel. "
        "For semantic: the encoder (minilm, st:PATH); default MiniLM.",
        rich_help_panel=JUDGE_PANEL,
        show_default=False,
    ),
]
PanelOption = Annotated[
    Path | None,
    typer.Option(
        "--panel",
        help="Panel file (TOML): a \\[\\[judge]] table per judge with spec = ... and optional "
        "base_url = \\[...]; an optional top-level protocol.",
        rich_help_panel=JUDGE_PANEL,
        show_default=False,
    ),
]


judge_app = typer.Typer(
    help="Judge a stored run's (or a labelled set's) answers; `judge calibrate`: a judge "
    "against people.",
    no_args_is_help=False,
)


@judge_app.callback(invoke_without_command=True)
def judge(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Run name.", show_default=False)] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Instead of --run: a labelled set (JSON lines as tests/data/judge_labels/"
            "labels.jsonl). Its answers are stored as runs named labels-FILE-FOLD-DIGEST-..., "
            "judged like any run (resumable, cached), and each judge's agreement with the "
            "labels is printed per answer style, with bootstrap 95% intervals.",
            show_default=False,
        ),
    ] = None,
    fold: FoldOption = "all",
    protocol: ProtocolOption = None,
    judges: JudgesOption = None,
    panel: PanelOption = None,
    judge_config: Annotated[
        str | None,
        typer.Option(
            "--judge-config",
            help="A named judge configuration (a threshold fitted by `eibench judge calibrate "
            "--save NAME`), or the path of its .json file; for entail and semantic.",
            rich_help_panel=JUDGE_PANEL,
            show_default=False,
        ),
    ] = None,
    cascade: Annotated[
        str | None,
        typer.Option(
            "--cascade",
            help="semantic: ask this model judge (e.g. openai:NAME at --judge-base-url) about "
            "the triggers the offline judge is unsure of (P(covered) in --cascade-band), one "
            "entail yes/no question each; its P(yes) decides them.",
            rich_help_panel=JUDGE_PANEL,
            show_default=False,
        ),
    ] = None,
    cascade_band: Annotated[
        str,
        typer.Option(
            help="LOW,HIGH: the offline P(covered) band sent to the --cascade model.",
            rich_help_panel=JUDGE_PANEL,
        ),
    ] = "{:g},{:g}".format(*DEFAULT_BAND),
    cascade_threshold: Annotated[
        float,
        typer.Option(
            help="The --cascade model's P(yes) at which a trigger counts as covered.",
            rich_help_panel=JUDGE_PANEL,
        ),
    ] = 0.5,
    judge_base_url: Annotated[
        list[str] | None,
        typer.Option(
            "--judge-base-url",
            help="OpenAI-compatible server of the judge; repeat to spread over replicas.",
            rich_help_panel=JUDGE_PANEL,
            show_default=False,
        ),
    ] = None,
    paper_sampling: Annotated[
        bool,
        typer.Option(
            "--paper-sampling",
            help="Judge as the release's scripts did (paper-llama3 and paper-chatgpt only): "
            "temperature 0.1 and 512 max tokens (--max-tokens is ignored), top_p 0.9 for "
            "paper-llama3 only (none sent for paper-chatgpt), no seed; the stored answer raw "
            "(special tokens kept) and the release file's ground-truth string pasted into the "
            "prompt; an unreadable reply gets the identical request again, as a fresh sample "
            "with no added turn: paper-llama3 until it holds '{score: ' (any case), at most 5 "
            "asks (fewer with a lower --max-asks); paper-chatgpt until it holds '{score', at "
            "most --max-asks (the release never stopped). The last reply, if no score can be "
            "read from it, is stored as judge_unparsed. Recorded with its own prompt version "
            "(-release) and sampling, so switching needs --replace and re-judges.",
            rich_help_panel=JUDGE_PANEL,
        ),
    ] = False,
    max_tokens: Annotated[int, typer.Option(rich_help_panel=JUDGE_PANEL)] = 512,
    structured_output: Annotated[
        StructuredOutput,
        typer.Option(
            help="triggers: how the judge's server is asked for JSON: json_schema (OpenAI, "
            "vLLM, SGLang, llama-server), json_object (llama-cpp-python), prompt (the schema "
            "in the prompt only), or auto: each in turn until the server takes one.",
            rich_help_panel=JUDGE_PANEL,
        ),
    ] = "auto",
    max_asks: Annotated[
        int,
        typer.Option(
            help="Asks per answer while the judge's reply cannot be read (the release's "
            "LLaMA-3 judge: 5). With --paper-sampling, paper-llama3 asks at most 5 times and "
            "paper-chatgpt, which the release asked without limit, at most this.",
            rich_help_panel=JUDGE_PANEL,
        ),
    ] = 5,
    coherence: Annotated[
        bool,
        typer.Option(help="semantic: also store each answer's long-term coherence."),
    ] = True,
    coherence_encoder: Annotated[
        str | None,
        typer.Option(
            help="semantic: coherence encoder (minilm, st:PATH, or bert-cls:PATH as the paper); "
            "default: the judge's encoder, sharing its sentence embeddings.",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Discard stored judgments made with a different judge configuration.",
        ),
    ] = False,
    data: DataOption = None,
    workspace: WorkspaceOption = None,
    concurrency: ConcurrencyOption = 8,
    adaptive: AdaptiveOption = False,
    timeout: TimeoutOption = 120.0,
    max_attempts: MaxAttemptsOption = 5,
    retry_failed: RetryFailedOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Judge a run's answers (or a labelled set's, to measure the judge). Verdicts are stored per
    (run, sample, judge, protocol); re-run the same command to resume, or judge again with
    another judge without regenerating. An unreadable judge reply is stored as judge_unparsed,
    never as a score of 0."""
    if ctx.invoked_subcommand is not None:
        return
    if (run is None) == (labels is None):
        raise EIBenchError("pass --run NAME, or --labels FILE (see eibench judge --help)")
    from eibench.judges.configs import load_judge_config
    from eibench.store.db import default_workspace

    chosen, implied = _chosen(judges, judge_base_url, panel)
    fitted = None
    if judge_config is not None:
        fitted = load_judge_config(judge_config, workspace or default_workspace())
        implied[f"judge configuration {fitted.name!r}"] = fitted.protocol
    protocol = _protocol(protocol, implied)
    chosen = chosen or [(None, judge_base_url or [])]  # semantic: the cascade model's URL
    if protocol == SEMANTIC and len(chosen) > 1:
        raise EIBenchError("the semantic protocol takes one encoder, not a panel")
    base = JudgeRequest(
        run=run or "", protocol=protocol, data=data, workspace=workspace,
        options=ModelOptions(timeout=timeout, structured_output=structured_output),
        params=GenerationParams(max_tokens=max_tokens), paper_sampling=paper_sampling,
        concurrency=concurrency, adaptive=adaptive, max_attempts=max_attempts,
        max_asks=max_asks, retry_failed=retry_failed, use_cache=not no_cache, replace=replace,
        coherence=coherence, coherence_encoder=coherence_encoder, judge_config=fitted,
        cascade=_cascade(cascade, cascade_band, cascade_threshold),
    )  # fmt: skip
    requests = [_for_judge(base, spec, urls) for spec, urls in chosen]  # each judge checked
    targets = _Targets.of(run, labels, fold, data, workspace)
    if not _judge_all(requests, targets):
        err.print(
            "[yellow]some answers could not be judged[/]; `eibench score` counts them as "
            "n_judge_failed; re-run with --retry-failed"
        )
        raise typer.Exit(1)


@dataclass(frozen=True)
class _Targets:
    """The runs to judge: --run's, or the runs holding a labelled set's answers (with the
    rows, each row's run, and the set's path)."""

    runs: list[str]
    labelled: tuple[Path, list[Labelled], list[str]] | None = None

    @classmethod
    def of(
        cls, run: str | None, labels: Path | None, fold: str, data: Path | None,
        workspace: Path | None,
    ) -> _Targets:  # fmt: skip
        if labels is None:
            assert run is not None
            return cls([run])
        from eibench.data import resolve_data_dir
        from eibench.review.labelled import load_labelled, store_labelled

        release = resolve_data_dir(data)
        rows = load_labelled(labels, release, fold)
        with Store.open(workspace) as store:
            runs = store_labelled(store, labels, rows, release)
        return cls(list(dict.fromkeys(runs)), (labels, rows, runs))


def _for_judge(base: JudgeRequest, spec: str | None, base_urls: list[str]) -> JudgeRequest:
    """`base` for one judge: its spec, its servers (checked: a bad URL is one line) and price."""
    from eibench.runner.cost import prices

    options = ModelOptions.model_validate({**base.options.model_dump(), "base_urls": base_urls})
    price = prices().get(spec) if spec else None
    return base.model_copy(update={"judge": spec, "options": options, "price": price})


def _judge_all(requests: list[JudgeRequest], targets: _Targets) -> bool:
    """Judge every target run with each judge's request (and, for a labelled set, print each
    judge's agreement with it); False when some answers could not be judged."""
    ok = True
    for request in requests:
        for run in targets.runs:
            summary = judge_and_measure(
                request.model_copy(update={"run": run}), on_progress=ProgressBar()
            )
            if targets.labelled is None:
                _print_summary(run, summary)
            else:  # a line per run; the agreement table below is what matters
                err.print(f"{escape(run)}: {summary.ok:,} judged now, {summary.skipped:,} "
                          f"already, {summary.unparsed:,} unparsed, {summary.failed:,} failed, "
                          f"{summary.requests:,} requests, {summary.seconds:.1f} s")  # fmt: skip
            if summary.stopped:
                raise EIBenchError(f"judging {run!r} by {summary.judge} stopped: {summary.stopped}")
            ok = ok and not (summary.unparsed or summary.failed)
        if targets.labelled is not None:
            _print_labelled(request, targets.labelled, summary.judge, summary.protocol)
    return ok


def _print_labelled(
    request: JudgeRequest,
    labelled: tuple[Path, list[Labelled], list[str]],
    judge: str,
    protocol: str,
) -> None:
    """One judge's agreement with the labelled set it just judged."""
    from eibench.cli.calibrate import print_agreement
    from eibench.review.calibration import gives_probabilities
    from eibench.review.labelled import stored_verdicts, verdict_agreement

    path, rows, runs = labelled
    with Store.open(request.workspace) as store:
        verdicts = stored_verdicts(store, rows, runs, judge, protocol)
        (judging,) = (
            c for c in store.judgings(runs[0]) if (c.judge, c.protocol) == (judge, protocol)
        )
    result = verdict_agreement(rows, verdicts, probabilities=gives_probabilities(judging))
    print_agreement(f"{judge} ({protocol}) vs {path}", result)


def _chosen(
    judges: list[str] | None, base_urls: list[str] | None, panel: Path | None
) -> tuple[list[tuple[str | None, list[str]]], dict[str, str]]:
    """The judges to run, as (spec, base URLs), and where a protocol was implied (a panel
    file's) -> that protocol."""
    from eibench.judges.panel import read_panel

    chosen: list[tuple[str | None, list[str]]] = [(j, base_urls or []) for j in judges or []]
    implied: dict[str, str] = {}
    if panel is not None:
        spec = read_panel(panel)
        if spec.protocol is not None:
            implied[f"the panel file {panel}"] = spec.protocol
        chosen += [(j.spec, j.base_url) for j in spec.judge]
    return chosen, implied


def _cascade(model: str | None, band: str, threshold: float) -> Cascade | None:
    """The --cascade options as a Cascade (None without --cascade); a bad one is one line."""
    if model is None:
        return None
    try:
        low, high = (float(x) for x in band.split(","))
        return Cascade(model=model, band=Band(low=low, high=high), threshold=threshold)
    except ValueError:  # pydantic's ValidationError is one too
        raise EIBenchError(
            f"--cascade-band {band!r}, --cascade-threshold {threshold:g}: give LOW,HIGH with "
            "0 <= LOW <= HIGH <= 1, and a threshold between 0 and 1"
        ) from None


def _protocol(given: str | None, implied: dict[str, str]) -> str:
    """The protocol to judge with: --protocol, else the one the panel file or judge
    configuration names, else semantic; a one-line error when they differ."""
    named = {**implied, **({"--protocol": given} if given else {})}
    if len(set(named.values())) > 1:
        sources = ", ".join(f"{where} says {name}" for where, name in named.items())
        raise EIBenchError(f"conflicting protocols: {sources}")
    return next(iter(named.values()), SEMANTIC)


def _print_summary(run: str, summary: JudgeSummary) -> None:
    table = Table(
        title=f"judge {escape(run)} · {escape(summary.judge)} · {summary.protocol}",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("answers", f"{summary.answers:,}")
    table.add_row("already judged", f"{summary.skipped:,}")
    table.add_row("judged now", f"{summary.ok:,}")
    table.add_row("unparsed now", f"{summary.unparsed:,}")
    if summary.protocol != SEMANTIC:
        table.add_row("parsed on the first ask", f"{summary.first_ask:,}")
        table.add_row("parsed after a re-ask", f"{summary.ok - summary.first_ask:,}")
    table.add_row("failed now", f"{summary.failed:,}")
    if summary.protocol != SEMANTIC:
        table.add_row("from cache", f"{summary.cached:,}")
        table.add_row("requests", f"{summary.requests:,}")
        usage = summary.usage
        table.add_row("tokens in / out", f"{usage.input_tokens:,} / {usage.output_tokens:,}")
    else:
        table.add_row("coherence computed", f"{summary.coherence:,}")
    if summary.cost is not None:
        table.add_row("cost", f"${summary.cost:,.4f}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    out.print(table)
