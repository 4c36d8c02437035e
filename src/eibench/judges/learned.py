"""The learned offline judge's model: gradient-boosted trees over `eibench.judges.features`,
fitted on the tune fold of `tests/data/judge_labels/` by `scripts/fit-offline-judge` and shipped
as a JSON artefact (`learned_judge.json` beside this module).

The artefact holds every tree as plain arrays, so predicting needs numpy only (no scikit-learn
at run time, no pickles) and gives the same probabilities on every machine. Its `version` is a
digest of what changes verdicts (features version, trees, threshold): judgings record it, and a
refit that changes anything is a new version.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from eibench.embed.encoder import MINILM_NAME, WordEncoder
from eibench.errors import DataError
from eibench.judges.features import FEATURES, FEATURES_VERSION, trigger_features
from eibench.judges.semantic import DEFAULT_THRESHOLD, Pair, SemanticJudge, TriggerScore
from eibench.validation import describe

ARTEFACT = Path(__file__).with_name("learned_judge.json")
METHOD = "learned-v1"


class Tree(BaseModel):
    """One regression tree: node i splits on `feature[i]` at `threshold[i]` (<= goes left) unless
    it is a leaf, whose `value[i]` adds to the raw score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]
    leaf: list[bool]


class TreeModel(BaseModel):
    """Boosted trees: P(covered) = sigmoid(baseline + sum of the trees' leaf values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] = Field(description="the feature names, in column order")
    features_version: str
    baseline: float
    trees: list[Tree]
    threshold: float = Field(description="covered when P(covered) reaches this")
    fit: dict[str, Any] = Field(default_factory=dict, description="how it was fitted")

    _packed: tuple[int, list[tuple[np.ndarray, ...]]] | None = PrivateAttr(None)

    @property
    def version(self) -> str:
        behaviour = self.model_dump(mode="json", exclude={"fit"})
        digest = hashlib.sha256(json.dumps(behaviour, sort_keys=True).encode()).hexdigest()
        return f"{METHOD}-{digest[:10]}"

    def _arrays(self) -> list[tuple[np.ndarray, ...]]:
        """The trees as numpy arrays, made once per list of trees."""
        if self._packed is None or self._packed[0] != id(self.trees):
            arrays: list[tuple[np.ndarray, ...]] = [
                (np.array(t.feature), np.array(t.threshold), np.array(t.left),
                 np.array(t.right), np.array(t.value), np.array(t.leaf))
                for t in self.trees
            ]  # fmt: skip
            self._packed = (id(self.trees), arrays)
            return arrays
        return self._packed[1]

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(covered) for each row of features `x` (n, len(features))."""
        raw = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for feature, threshold, left, right, value, leaf in self._arrays():
            node = np.zeros(len(x), dtype=int)
            while not leaf[node].all():
                go_left = x[rows, feature[node]] <= threshold[node]
                node = np.where(leaf[node], node, np.where(go_left, left[node], right[node]))
            raw += value[node]
        return np.asarray(1.0 / (1.0 + np.exp(-raw)))


def load_model(path: Path = ARTEFACT) -> TreeModel:
    """The artefact at `path` (the shipped one by default); a bad one is a one-line error."""
    try:
        model = TreeModel.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(path, f"cannot read the learned judge: {exc}") from None
    except ValidationError as exc:
        raise DataError(path, describe(exc, TreeModel)) from None
    if model.features_version != FEATURES_VERSION or tuple(model.features) != FEATURES:
        raise DataError(path, "fitted on other features than this eibench computes; refit it")
    return model


@functools.lru_cache(maxsize=1)
def default_model() -> TreeModel:
    return load_model()


class LearnedJudge(SemanticJudge):
    """The semantic judge whose covered flags come from `model`'s P(covered) (the verdict's
    per-trigger score) rather than a threshold on the word-recall score; evidence, precision
    and unmatched claims are the word-recall judge's. Fitted for all-MiniLM-L6-v2 only."""

    def __init__(
        self,
        encoder: WordEncoder,
        threshold: float | None = None,
        *,
        model: TreeModel | None = None,
        max_unmatched: int = 10,
    ) -> None:
        self.model = model or default_model()
        super().__init__(
            encoder, self.model.threshold if threshold is None else threshold,
            max_unmatched=max_unmatched,
        )  # fmt: skip
        self.match_threshold = DEFAULT_THRESHOLD
        self.config.update(
            method=METHOD, model=self.model.version, match_threshold=self.match_threshold,
            features=FEATURES_VERSION,
        )  # fmt: skip

    def decide(self, pair: Pair, scores: list[TriggerScore]) -> list[float]:
        if not pair.triggers:
            return []
        return [float(p) for p in self.model.probability(pair_features(self.encoder, pair))]


def pair_features(encoder: WordEncoder, pair: Pair) -> np.ndarray:
    """The feature rows of the pair's triggers (`eibench.judges.features`); the sentence
    vectors come from the encoder's memo (its word-vector pass made them)."""
    return trigger_features(
        pair.segments, encoder.encode(pair.segment_texts), pair.triggers,
        encoder.encode(pair.trigger_forms), len(pair.answer),
    )  # fmt: skip


def offline_judge(encoder: WordEncoder, threshold: float | None = None) -> SemanticJudge:
    """The default offline judge for `encoder`: the learned judge for the bundled MiniLM (the
    encoder it was fitted for), the word-recall judge for any other."""
    if encoder.name == MINILM_NAME:
        return LearnedJudge(encoder, threshold)
    return SemanticJudge(encoder, threshold)
