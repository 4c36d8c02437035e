"""`eibench review create|links|serve|agreement|export` and `eibench judge calibrate`."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from eibench.cli.console import err, out
from eibench.cli.options import DataOption, ImagesOption, WorkspaceOption
from eibench.data.categories import category_label
from eibench.errors import EIBenchError
from eibench.report.tables import interval_text
from eibench.review.campaigns import Kind
from eibench.store import Store

if TYPE_CHECKING:
    from eibench.review.analysis import RatingReport
    from eibench.review.campaigns import Campaign

review_app = typer.Typer(
    help="Review campaigns: people rate annotations, refine CFSA drafts, audit judges.",
    no_args_is_help=True,
)


BaseUrlOption = Annotated[
    str,
    typer.Option(
        "--link-url",
        "--base-url",  # the old spelling, kept for scripts
        help="Where `eibench review serve` will be reached, for the login links.",
    ),
]


def _link_printer(base_url: str) -> Callable[[dict[str, str]], None]:
    """Print `rater<TAB>link` per rater on stdout, flushed, so that a failed write (a closed
    pipe, a full disk) raises before the tokens are committed."""

    def deliver(tokens: dict[str, str]) -> None:
        base = base_url.rstrip("/")
        typer.echo("".join(f"{rater}\t{base}/login/{token}\n" for rater, token in tokens.items()),
                   nl=False)  # fmt: skip

    return deliver


def _links_lost(exc: OSError, what: str) -> EIBenchError:
    reason = exc.strerror or str(exc)
    return EIBenchError(f"could not write the login links to standard output ({reason}); {what}")


CreateScaleOption = Annotated[
    str | None,
    typer.Option(
        metavar="1-5|0-5",
        help="rate: the scale of the scores, stored with the campaign: 1-5 (the paper's, with "
        "its rubric; the default) or 0-5.",
        show_default=False,
    ),
]


def _new_campaign(
    kind: Kind,
    source: str,
    raters: list[str],
    name: str | None,
    stratify: str | None,
    scale: str | None,
) -> Campaign:
    """The campaign `review create` would make, its options checked before anything is read or
    written (a rate campaign's scale defaults to the paper's 1-5)."""
    from eibench.review.campaigns import Campaign
    from eibench.review.names import check_name
    from eibench.review.scales import DEFAULT_SCALE, get_scale

    if stratify not in ("emotion", "none", None):
        raise EIBenchError("--stratify takes emotion or none")
    if scale is not None and kind != "rate":
        raise EIBenchError(f"--scale is for rate campaigns, not {kind} ones")
    chosen = get_scale(scale or DEFAULT_SCALE).name if kind == "rate" else None
    names = [r.strip() for given in raters for r in given.split(",")]
    campaign_name = name if name is not None else f"{kind}-{source.replace(':', '-')}"
    check_name(campaign_name, "campaign")
    for rater in names:
        check_name(rater, "rater")
    return Campaign(name=campaign_name, kind=kind, source=source, raters=names, scale=chosen)


@review_app.command("create")
def create(
    kind: Annotated[
        Kind,
        typer.Option(
            help="rate: quality scores (see --scale); refine: edit CFSA drafts; audit: mark "
            "each trigger covered or missed by a model answer."
        ),
    ],
    source: Annotated[
        str,
        typer.Option("--from", help="basic, complex, annotations[:BATCH] or run:NAME."),
    ],
    raters: Annotated[
        list[str],
        typer.Option(
            "--rater",
            "--raters",
            help="A rater's name (repeat: --rater r1 --rater r2; r1,r2 works too).",
        ),
    ],
    name: Annotated[
        str | None, typer.Option(help="Campaign name (default: kind-source).", show_default=False)
    ] = None,
    sample: Annotated[
        int | None, typer.Option(help="Review a seeded sample of N items.", show_default=False)
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    stratify: Annotated[
        str | None,
        typer.Option(
            help="'emotion' (the default) keeps the categories' shares; 'none'.", show_default=False
        ),
    ] = "emotion",
    scale: CreateScaleOption = None,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    data: DataOption = None,
    images: ImagesOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a campaign and print one login link per rater (shown once: only a hash of each
    token is stored; `eibench review links --reissue` makes new ones)."""
    from eibench.review.campaigns import create_campaign
    from eibench.review.sources import build_items

    campaign = _new_campaign(kind, source, raters, name, stratify, scale)
    with Store.open(workspace) as store:
        found = build_items(
            store, kind, source, data=data, sample=sample, seed=seed,
            stratify=stratify == "emotion",
        )  # fmt: skip
        try:
            create_campaign(store, campaign, found, deliver=_link_printer(base_url))
        except OSError as exc:
            raise _links_lost(exc, f"campaign {campaign.name!r} was not created; run the "
                              "command again") from None  # fmt: skip
    made = f"{len(found):,} item(s), {len(campaign.raters)} rater(s)"
    on_scale = f", scores {campaign.scale}" if campaign.scale else ""
    err.print(f"campaign {escape(campaign.name)}: {made}{on_scale}")
    if images is None:
        err.print("[yellow]no --images: `review serve --images ROOT` shows the pictures[/]")


@review_app.command("links")
def links(
    campaign: Annotated[str, typer.Argument(help="Campaign name.")],
    reissue: Annotated[
        list[str] | None,
        typer.Option(
            help="Print a new login link for this rater (repeatable); their old link and "
            "sessions stop working.",
            metavar="RATER",
            show_default=False,
        ),
    ] = None,
    revoke: Annotated[
        list[str] | None,
        typer.Option(
            help="Stop this rater signing in (repeatable): their link and sessions stop "
            "working until --reissue. Their answers stay.",
            metavar="RATER",
            show_default=False,
        ),
    ] = None,
    base_url: BaseUrlOption = "http://127.0.0.1:8000",
    workspace: WorkspaceOption = None,
) -> None:
    """Show a campaign's raters, reissue lost login links, or revoke them. Links are shown
    only when made: only a hash of each token is stored."""
    from eibench.review.tokens import rater_access
    from eibench.review.tokens import reissue as reissue_links
    from eibench.review.tokens import revoke as revoke_links

    again, stop = reissue or [], revoke or []
    if both := sorted(set(again) & set(stop)):
        raise EIBenchError(f"{', '.join(both)}: choose --reissue or --revoke, not both")
    with Store.open(workspace, create=False) as store:
        if stop:
            revoke_links(store, campaign, stop)
            err.print(f"revoked {escape(', '.join(stop))}: their links and sessions stop working")
        if again:
            try:
                reissue_links(store, campaign, again, deliver=_link_printer(base_url))
            except OSError as exc:
                raise _links_lost(exc, "the old links still work; run the command again") from None
            err.print(f"reissued {escape(', '.join(again))}: their old links stop working")
        if not (again or stop):
            table = Table(title=f"campaign {escape(campaign)}", title_justify="left")
            for column in ("rater", "status", "sessions"):
                table.add_column(column, justify="right" if column == "sessions" else "left")
            for access in rater_access(store, campaign):
                state = "[red]revoked[/]" if access.revoked else "active"
                table.add_row(escape(access.rater), state, str(access.sessions))
            out.print(table)


@review_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Mark the session cookie Secure: browsers send it over HTTPS only (serve "
            "behind a TLS proxy).",
        ),
    ] = False,
    data: DataOption = None,
    images: ImagesOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Serve the review app: raters open their login links; progress is saved as they go."""
    from eibench.review.app import serve as run_server

    run_server(workspace, data, images, host=host, port=port, secure_cookie=secure_cookies)


@review_app.command("agreement")
def agreement(
    campaign: Annotated[
        str | None, typer.Argument(help="A rate campaign.", show_default=False)
    ] = None,
    from_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--from-files",
            help="The release's score_<rater>.jsonl files instead.",
            show_default=False,
        ),
    ] = None,
    scale: Annotated[
        str | None,
        typer.Option(
            metavar="1-5|0-5",
            help="--from-files: the scale of the scores (default: the scale.json that "
            "`review export` wrote beside them, else the release's 1-5).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Per-category and overall mean, std, min and max (as the release analysis computes them),
    Krippendorff's alpha (ordinal) and ICC(2,1) with bootstrap intervals, and each rater's
    score distribution, on the scale the scores were given on (a campaign's own, 1-5 for the
    release's files)."""
    from eibench.data.schema import emotion_of
    from eibench.review.analysis import rating_report, read_release_scores
    from eibench.review.outputs import ratings
    from eibench.review.scales import RELEASE_SCALE, get_scale, scale_beside

    if from_files:
        on = get_scale(scale) if scale is not None else scale_beside(from_files) or RELEASE_SCALE
        found = read_release_scores(from_files, on)
        report = rating_report(found, lambda key: emotion_of("basic", key), seed=seed, scale=on)
        title = f"release ratings ({len(from_files)} file(s))"
    elif campaign:
        if scale is not None:
            raise EIBenchError("--scale is for --from-files: a campaign's scale is stored with it")
        with Store.open(workspace, create=False) as store:
            stored = ratings(store, campaign)
        emotions = stored.emotions
        report = rating_report(stored.scores, lambda key: emotions[key], seed=seed,
                               scale=stored.scale)  # fmt: skip
        title = f"campaign {campaign}"
    else:
        raise EIBenchError("name a campaign or pass --from-files score_*.jsonl")
    if as_json:
        typer.echo(json.dumps({"source": title, **report.as_dict()}, indent=2))
    else:
        _print_agreement(title, report)


def _print_agreement(title: str, report: RatingReport) -> None:
    scale = report.scale
    heading = title if scale is None else f"{title}, scale {scale.name}"
    table = Table(title=escape(heading), title_justify="left")
    for column in ("category", "items", "mean", "std", "min", "max"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for s in (*report.categories, report.overall):
        cells = (f"{s.n_items:,}", f"{s.mean:.3f}", f"{s.std:.3f}", f"{s.min:g}", f"{s.max:g}")
        table.add_row(category_label(s.category), *cells,
                      style="bold" if s is report.overall else None)  # fmt: skip
    out.print(table)
    if scale is not None:
        out.print(f"  scale: {scale.name} (scores from {scale.low} to {scale.high}; every figure "
                  "above is on it)")  # fmt: skip
    for label, value in (
        ("Krippendorff's alpha (ordinal)", report.alpha),
        ("ICC(2,1)", report.icc),
    ):
        out.print(f"  {label}: {value.estimate:.3f} {interval_text(value.low, value.high, 1, 3)}")
    for rater, counts in report.raters.items():
        spread = ", ".join(f"{score}: {n}" for score, n in sorted(counts.items()))
        out.print(f"  {escape(rater)}: {spread}")


class ExportChoice(str, Enum):
    release = "release"
    csv = "csv"


@review_app.command("export")
def export(
    campaign: Annotated[str, typer.Argument(help="Campaign name.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    fmt: Annotated[
        ExportChoice,
        typer.Option(
            "--format",
            help="release: score_<rater>.jsonl per rater; csv: every "
            "current response. Refined annotations: `eibench annotate export`.",
        ),
    ] = ExportChoice.release,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a campaign's responses."""
    from eibench.review.outputs import export_ratings

    with Store.open(workspace, create=False) as store:
        written = export_ratings(store, campaign, out_dir, fmt.value)
    for path in written:
        err.print(f"wrote {escape(str(path))}")
