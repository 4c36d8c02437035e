"""`eibench score` and `eibench compare`: score tables with intervals, and paired tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import out, print_uncut
from eibench.cli.judge import JudgesOption
from eibench.cli.options import (
    DataOption,
    JsonOption,
    WorkspaceOption,
)
from eibench.data.schema import Split
from eibench.errors import EIBenchError
from eibench.judges.panel import Combine
from eibench.judges.protocols import ProtocolName
from eibench.metrics.rules import RULE_SETS, RuleSetName
from eibench.metrics.scores import Denominator, Mean, Row, ScorePolicy
from eibench.metrics.stats import PairedMethod
from eibench.report.tables import interval_text, p_value_text

POLICY_PANEL = "Scoring"


def pct(mean: Mean) -> str:
    """`53.21 [51.60, 54.90]` on the percent scale, or `-` when there is nothing to average."""
    estimate, interval = _pct_parts(mean)
    return estimate if interval == "" else f"{estimate} {interval}"


def _pct_parts(mean: Mean) -> tuple[str, str]:
    values = (mean.estimate, mean.low, mean.high)
    if any(v is None or v != v for v in values):  # nothing to average (None or nan)
        return "-", ""
    estimate, low, high = (float(v) for v in values)  # type: ignore[arg-type]
    return f"{100 * estimate:.2f}", interval_text(low, high)


EXTRA_LABELS = {"precision": "precision", "f1": "F1", "unsupported_rate": "unsupported claims"}


COUNTS = {
    "stale": "n_stale",
    "gen fail": "n_generation_failed",
    "judge fail": "n_judge_failed",
    "unjudged": "n_unjudged",
    "not run": "n_not_run",
}


def _rows_table(
    title: str, rows: list[Row], metric: str = "recall %", counts: tuple[str, ...] = tuple(COUNTS)
) -> Table:
    """One row per category: the mean, its interval, and the counts behind it (a count column
    that is zero everywhere is left out, except the failure columns)."""
    optional = {"not run": "n_not_run", "stale": "n_stale"}  # shown only where not all zero
    shown = [c for c in counts if c not in optional or any(getattr(r, optional[c]) for r in rows)]
    table = Table(title=title, title_justify="left")
    table.add_column("category", no_wrap=True)
    table.add_column(metric, justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right", no_wrap=True)
    table.add_column("scored", justify="right")
    for column in shown:
        table.add_column(column, justify="right")
    for r in rows:
        estimate, interval = _pct_parts(r.recall)
        cells = [r.label, estimate, interval, f"{r.n_scored:,}"]
        cells += [f"{getattr(r, COUNTS[c]):,}" for c in shown]
        table.add_row(*cells, style="bold" if r is rows[-1] else None)
    return table


def score_policy(
    rules: RuleSetName,
    unparsed_as_zero: bool = False,
    denominator: Denominator = "truth",
    resamples: int = 2000,
    seed: int = 0,
) -> ScorePolicy:
    """The scoring policy the options describe; a one-line error for options that cannot go
    together."""
    if resamples < 1000:
        raise EIBenchError("--resamples must be at least 1000")
    if rules == "release" and (unparsed_as_zero or denominator != "truth"):
        flag = "--unparsed-as-zero" if unparsed_as_zero else "--denominator"
        raise EIBenchError(f"{flag} adjusts the honest rules; --rules release already has the "
                           "release's own (see `eibench score --list-rules`)")  # fmt: skip
    return ScorePolicy(
        rules=rules,
        unparsed_as_zero=unparsed_as_zero,
        denominator=denominator,
        resamples=resamples,
        seed=seed,
    )


RulesOption = Annotated[
    RuleSetName,
    typer.Option(
        "--rules",
        help="Scoring rule set: honest (ground-truth denominator, tolerant parse, failures "
        "counted and left out) or release (the release's get_scores.py arithmetic exactly: "
        "first strict match, the judge's total, stale scores); `--list-rules` lists each rule.",
        rich_help_panel=POLICY_PANEL,
    ),
]
UnparsedOption = Annotated[
    bool,
    typer.Option(
        "--unparsed-as-zero",
        help="Score unreadable judge replies as 0, as the release did (default: left out and "
        "counted as judge failed).",
        rich_help_panel=POLICY_PANEL,
    ),
]
DenominatorOption = Annotated[
    Denominator,
    typer.Option(
        help="truth: recall = min(correct, n) / n with n the ground-truth count; judge: "
        "correct / the judge's own total, the release's arithmetic.",
        rich_help_panel=POLICY_PANEL,
    ),
]
ResamplesOption = Annotated[
    int, typer.Option(help="Bootstrap resamples (1000+).", rich_help_panel=POLICY_PANEL)
]
SeedOption = Annotated[int, typer.Option(help="Bootstrap seed.", rich_help_panel=POLICY_PANEL)]


def score(
    run: Annotated[str | None, typer.Option("--run", help="Run name.", show_default=False)] = None,
    judges: JudgesOption = None,
    protocol: Annotated[
        ProtocolName | None,
        typer.Option(help="Only this protocol's judgments.", show_default=False),
    ] = None,
    combine: Annotated[
        Combine | None,
        typer.Option(
            help="Combine several judges of one protocol into a panel: mean of recalls, or "
            "majority vote per trigger (median recall where judges give no per-trigger votes); "
            "also reports Krippendorff's alpha and Pearson / Spearman agreement.",
            show_default=False,
        ),
    ] = None,
    legacy_file: Annotated[
        Path | None,
        typer.Option(
            help="Score judge outputs written by the release's scripts ({image: '...{score: "
            "c/t}...'} per line) instead of a run, under --rules: release gives get_scores.py's "
            "numbers to the digit (its printed 5-decimal figures beside), honest the "
            "tolerant reading over the ground-truth count.",
            show_default=False,
        ),
    ] = None,
    split: Annotated[
        Split | None,
        typer.Option(
            help="--legacy-file: the file's split (default: the one its first line's image "
            "key belongs to).",
            show_default=False,
        ),
    ] = None,
    rules: RulesOption = "honest",
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List every rule of each rule set and exit.")
    ] = False,
    unparsed_as_zero: UnparsedOption = False,
    denominator: DenominatorOption = "truth",
    resamples: ResamplesOption = 2000,
    seed: SeedOption = 0,
    data: DataOption = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recall per category and overall (micro, as the paper; macro beside it) with 95%
    bootstrap intervals and the counts behind every mean; long-term coherence; on the complex
    split, emotion-conditioning sensitivity."""
    if list_rules:
        _print_rules()
        return
    policy = score_policy(rules, unparsed_as_zero, denominator, resamples, seed)
    if legacy_file is not None:
        given = {"--run": run, "--judge": judges, "--protocol": protocol, "--combine": combine,
                 "--workspace": workspace}  # fmt: skip
        if unused := [flag for flag, value in given.items() if value]:
            raise EIBenchError(f"{', '.join(unused)} cannot apply to --legacy-file (the file "
                               "is one judge's replies, outside any workspace)")  # fmt: skip
        _score_legacy(legacy_file, data, split, policy, as_json)
        return
    if run is None:
        raise EIBenchError("pass --run NAME (or --legacy-file FILE)")
    from eibench.metrics.run_scores import score_run

    result = score_run(
        run,
        judges=list(judges or []),
        protocol=protocol,
        data=data,
        workspace=workspace,
        policy=policy,
        how=combine,
    )
    if as_json:
        out.print_json(result.model_dump_json())
        return
    head = f"{escape(run)} · {escape(result.model)} · {result.split} · {result.setting}"
    if policy.rules != "honest":
        head += f" · {policy.rules} rules"
    for s in result.scores:
        version = f" · {escape(s.version)}" if s.version else ""
        print_uncut(_rows_table(f"{head} · {escape(s.judge)} · {s.protocol}{version}", s.rows))
        notes = [f"macro {pct(s.macro)}"] if s.macro else []
        notes += [f"{EXTRA_LABELS.get(name, name)} {pct(m)}" for name, m in s.extra.items()]
        if notes:
            out.print("  " + " · ".join(notes))
    if result.panel is not None:
        p = result.panel
        print_uncut(_rows_table(f"panel ({p.combine}) · {p.protocol}", p.rows))
        agreement = p.agreement
        out.print(f"  Krippendorff's alpha ({agreement['level']}) {agreement['alpha']:.3f}")
        for pair in agreement["pairs"]:
            out.print(
                f"  {escape(pair['judge_a'])} vs {escape(pair['judge_b'])}: n {pair['n']}, "
                f"Pearson {pair['pearson']:.3f}, Spearman {pair['spearman']:.3f}"
            )
    for encoder, rows in result.coherence.items():
        title = f"long-term coherence ({escape(encoder)}; one-sentence answers have none)"
        if policy.rules == "release":
            title = (
                f"long-term coherence, release mode ({escape(encoder)}; raw text, zeros dropped)"
            )
        print_uncut(_rows_table(title, rows, "coherence %", ("gen fail", "unjudged", "not run")))
    for name, mean in result.sensitivity.items():
        out.print(f"  emotion sensitivity, {escape(name)}: {pct(mean)} (n {mean.n})")


def _score_legacy(
    path: Path, data: Path | None, split: Split | None, policy: ScorePolicy, as_json: bool
) -> None:
    from eibench.data import load_split, resolve_data_dir
    from eibench.data.files import iter_jsonl
    from eibench.metrics.score_files import score_legacy

    root = resolve_data_dir(data)
    if split is None:  # the release's complex image keys are not in the basic split
        first = next(iter(iter_jsonl(path)), (0, [("", "")]))[1]
        basic = load_split(root, "basic")
        split = "basic" if first and first[0][0] in {s.image for s in basic.samples} else "complex"
    dataset = load_split(root, split)
    rows = score_legacy(path, dataset, policy)
    if as_json:
        out.print_json(json.dumps({"rules": policy.rules, "rows": [r.model_dump() for r in rows]}))
        return
    release = policy.rules == "release"
    table = Table(title=f"legacy judge file {escape(str(path))} · {policy.rules} rules",
                  title_justify="left")  # fmt: skip
    # release: the 5-decimal figure get_scores.py prints (0 for an empty category)
    columns = ["category", "score" if release else "recall %", "95% CI", "n"]
    columns += [*(["stale"] if release else []), "unread", "c>t", "missing"]
    for column in columns:
        table.add_column(column, justify="left" if column == "category" else "right",
                         no_wrap=True)  # fmt: skip
    for r in rows:
        estimate, interval = _pct_parts(r.recall)
        if release:
            low, high = r.recall.low, r.recall.high
            estimate = f"{r.recall.estimate or 0:.5f}"
            interval = "" if low is None or high is None else interval_text(low, high, 1, 3)
        cells = [r.label, estimate, interval, f"{r.n_scored:,}"]
        cells += [*([f"{r.n_stale:,}"] if release else []), f"{r.n_unparsed:,}"]
        cells += [f"{r.n_over_total:,}", f"{r.n_missing:,}"]
        table.add_row(*cells, style="bold" if r is rows[-1] else None)
    print_uncut(table)


def _print_rules() -> None:
    for rule_set in RULE_SETS.values():
        out.print(f"[bold]{rule_set.name}[/]: {escape(rule_set.summary)}")
        for rule in rule_set.rules:
            out.print(f"  - {escape(rule)}")


def compare(
    run_a: Annotated[str, typer.Argument(help="First run.")],
    run_b: Annotated[str, typer.Argument(help="Second run.")],
    judge: Annotated[
        str | None, typer.Option(help="Judge both runs were judged by.", show_default=False)
    ] = None,
    protocol: Annotated[
        ProtocolName | None, typer.Option(help="Protocol.", show_default=False)
    ] = None,
    method: Annotated[
        PairedMethod, typer.Option(help="Paired test: sign-flip permutation or bootstrap.")
    ] = "permutation",
    rules: RulesOption = "honest",
    unparsed_as_zero: UnparsedOption = False,
    denominator: DenominatorOption = "truth",
    seed: SeedOption = 0,
    data: DataOption = None,
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Paired test of RUN_A against RUN_B on the samples both scored: the recall difference
    (A - B) with its 95% bootstrap interval and a two-sided p-value, per category and overall."""
    from eibench.metrics.run_scores import compare_runs

    result = compare_runs(
        run_a,
        run_b,
        judge=judge,
        protocol=protocol,
        data=data,
        workspace=workspace,
        policy=score_policy(rules, unparsed_as_zero, denominator, 2000, seed),
        method=method,
    )
    if as_json:
        out.print_json(result.model_dump_json())
        return
    table = Table(
        title=f"{escape(run_a)} vs {escape(run_b)} · {escape(result.judge)} · "
        f"{result.protocol} · {result.method} test",
        title_justify="left",
    )
    for column in ("category", "n", "A %", "B %", "A - B [95% CI]", "p"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for r in result.rows:
        diff = Mean(estimate=r["diff"], low=r["low"], high=r["high"], n=r["n"])
        table.add_row(
            r["label"],
            f"{r['n']:,}",
            f"{100 * r['mean_a']:.2f}",
            f"{100 * r['mean_b']:.2f}",
            pct(diff),
            p_value_text(r["p_value"]),
        )
    print_uncut(table)
