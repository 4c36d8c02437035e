"""What comes out of a campaign: ratings in the release's `score_<rater>.jsonl` format (with a
`scale.json` naming their scale) and as CSV (with a scale column), ratings for the agreement
analysis, and human audit labels for judge calibration."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import NamedTuple

from eibench.atomic import write_text
from eibench.errors import EIBenchError
from eibench.review.campaigns import ReviewItem, get_campaign, items, responses
from eibench.review.names import name_problem
from eibench.review.scales import SCALE_FILE, Scale
from eibench.store import Store


class CampaignRatings(NamedTuple):
    """A rate campaign's current scores: rater -> item id -> score, item id -> emotion, and the
    scale the scores are on."""

    scores: dict[str, dict[str, float]]
    emotions: dict[str, str]
    scale: Scale


def ratings(store: Store, campaign: str) -> CampaignRatings:
    """The current scores of a rate campaign, with its items' emotions and its scale."""
    scale = get_campaign(store, campaign).rating_scale()
    emotions = {i.item_id: i.emotion for i in items(store, campaign)}
    found: dict[str, dict[str, float]] = {}
    for r in responses(store, campaign):
        if r.score is not None:
            found.setdefault(r.rater, {})[r.item_id] = float(r.score)
    if not found:
        raise EIBenchError(f"campaign {campaign!r} has no ratings yet")
    return CampaignRatings(found, emotions, scale)


def audit_labels(store: Store, campaign: str) -> tuple[dict[str, list[list[bool]]], dict[str, str]]:
    """(sample id -> every rater's covered flags, the run audited) of an audit campaign."""
    info = get_campaign(store, campaign)
    if info.kind != "audit":
        raise EIBenchError(f"campaign {campaign!r} is not an audit campaign")
    labels: dict[str, list[list[bool]]] = {}
    for r in responses(store, campaign):
        if r.covered is not None:
            labels.setdefault(r.item_id, []).append(list(r.covered))
    if not labels:
        raise EIBenchError(f"campaign {campaign!r} has no audit labels yet")
    return labels, {"run": info.source.removeprefix("run:")}


def _inside(out: Path, file_name: str, rater: str) -> Path:
    """`out / file_name`, refused when the rater's name would put it anywhere else (names are
    checked when a campaign is made; stores made before that check may hold any name)."""
    path = out / file_name
    problem = name_problem(rater)
    if problem is None and Path(os.path.abspath(path)).parent != Path(os.path.abspath(out)):
        problem = "it names another folder"
    if problem is not None:
        raise EIBenchError(
            f"rater name {rater!r} cannot be a file name in {out} ({problem}); "
            "nothing was written: use --format csv"
        )
    return path


def export_ratings(store: Store, campaign: str, out: Path, fmt: str) -> list[Path]:
    """`release`: one `score_<rater>.jsonl` per rater in `out`, `{image: "score"}` per line in
    item order, and `scale.json` ({"campaign", "scale", "low", "high"}) naming their scale;
    `csv`: one `ratings.csv` with every current response of any campaign kind (its `scale`
    column is the rate campaign's scale).
    Nothing is written outside `out`: a rater name that is not a plain file name is refused
    before any file is written."""
    info = get_campaign(store, campaign)
    by_id: dict[str, ReviewItem] = {i.item_id: i for i in items(store, campaign)}
    current = responses(store, campaign)
    if fmt == "release":
        if info.kind != "rate":
            raise EIBenchError("the release format holds ratings: use --format csv")
        paths = {rater: _inside(out, f"score_{rater}.jsonl", rater) for rater in info.raters}
        for rater, path in paths.items():
            mine = {r.item_id: r for r in current if r.rater == rater and r.score is not None}
            lines = [
                json.dumps({by_id[i].image: str(mine[i].score)}, ensure_ascii=False)
                for i in by_id
                if i in mine
            ]
            write_text(path, "".join(line + "\n" for line in lines))
        scale_path = out / SCALE_FILE
        about = {"campaign": campaign, "scale": info.rating_scale().describe()}
        write_text(scale_path, json.dumps(about, indent=2) + "\n")
        return [*paths.values(), scale_path]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["campaign", "kind", "rater", "item_id", "image", "emotion", "score", "scale",
                     "covered", "decision", "triggers", "note", "created_at"])  # fmt: skip
    for r in current:
        item = by_id.get(r.item_id)
        writer.writerow([
            campaign, r.kind, r.rater, r.item_id, item.image if item else "",
            item.emotion if item else "", "" if r.score is None else r.score, info.scale or "",
            "" if r.covered is None else "".join("1" if c else "0" for c in r.covered),
            r.decision or "", " | ".join(r.kept_triggers()) if r.triggers else "", r.note,
            r.created_at,
        ])  # fmt: skip
    path = out / "ratings.csv"
    write_text(path, buffer.getvalue())
    return [path]
