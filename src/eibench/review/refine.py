"""Refinement results flow back into the CFSA annotations: an accepted refinement becomes the
annotation's trigger list with status `reviewed`, a rejection sets `rejected`. The draft's
stages and every response stay in the store as history."""

from __future__ import annotations

from eibench.errors import EIBenchError
from eibench.review.campaigns import Response, ReviewItem
from eibench.store import Store
from eibench.store.annotations import load_annotations, put_annotations


def apply_refinement(store: Store, item: ReviewItem, response: Response) -> None:
    """Write a refine response into the item's annotation (batch `item.batch`)."""
    if response.kind != "refine" or item.batch is None:
        raise EIBenchError("only refine responses on CFSA drafts can be applied")
    found = {a.id: a for a in load_annotations(store, item.batch)}
    annotation = found.get(item.item_id)
    if annotation is None:
        raise EIBenchError(f"no annotation {item.item_id} in batch {item.batch!r}")
    update: dict[str, object] = {"note": response.note}
    if response.decision == "reject":
        update["status"] = "rejected"
    else:
        kept = response.kept_triggers()
        if not kept:
            raise EIBenchError("an accepted annotation needs at least one trigger")
        update |= {"status": "reviewed", "triggers": kept, "unsupported": []}
    put_annotations(store, [annotation.model_copy(update=update)])
