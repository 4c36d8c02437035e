"""Where a rater stands in a campaign: which items they answered and which one comes next."""

from __future__ import annotations

from dataclasses import dataclass

from eibench.review.campaigns import Response, ReviewItem


@dataclass(frozen=True)
class State:
    """A rater's campaign as it stands: its items, the rater's current response per item id,
    and the positions answered."""

    items: list[ReviewItem]
    current: dict[str, Response]

    @property
    def done(self) -> set[int]:
        return {i for i, item in enumerate(self.items) if item.item_id in self.current}

    def progress(self) -> dict[str, int]:
        return {"done": len(self.done), "total": len(self.items)}

    def next_open(self, after: int = -1) -> int | None:
        """The first unanswered position after `after`, wrapping round; None when all are."""
        done, n = self.done, len(self.items)
        order = [*range(after + 1, n), *range(0, min(after + 1, n))]
        return next((p for p in order if p not in done), None)
