"""The typed records of the data layer."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Split = Literal["basic", "complex"]
SPLITS: tuple[Split, ...] = ("basic", "complex")

KNOWN_SOURCES = ("EmoSet-118k", "CAER-S")

# Basic-split categories as named by the image folders, normalised to the task's four emotions.
_BASIC_EMOTIONS = {
    "happy": "happy",
    "happiness": "happy",
    "angry": "angry",
    "anger": "angry",
    "sad": "sad",
    "sadness": "sad",
    "excited": "excited",
    "excitement": "excited",
}
BASIC_EMOTIONS = ("happy", "angry", "sad", "excited")


def sample_id(split: str, image: str, question: str) -> str:
    """A stable identity for (split, image key, question): 16 hex digits of a sha256."""
    digest = hashlib.sha256(f"{split}\x00{image}\x00{question}".encode())
    return digest.hexdigest()[:16]


def source_of(image: str) -> str:
    """The dataset an image comes from: the first component of its key."""
    return PurePosixPath(image).parts[0]


def emotion_of(split: str, image: str) -> str:
    """The image's category from its folder.

    Basic folders are normalised to happy | angry | sad | excited; complex keeps the folder's
    own emotion (anger, contentment, excitement, fear, sadness, ...). An unknown basic folder
    keeps its lower-cased name, and `eibench data check` warns about it.
    """
    folder = PurePosixPath(image).parent.name.lower()
    if split == "basic":
        return _BASIC_EMOTIONS.get(folder, folder)
    return folder


class Sample(BaseModel):
    """One benchmark item: an image, a question about a person in it, and its true triggers."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="stable hash of split, image key and question")
    split: Split
    image: str = Field(description="the image's relative key, exactly as in the release")
    source: str = Field(description="EmoSet-118k or CAER-S for the release")
    emotion: str = Field(description="category from the image's folder")
    question: str
    triggers: list[str] = Field(description="the ground-truth emotional triggers, in order")
    truth_text: str | None = Field(
        None,
        exclude=True,
        repr=False,
        description="the ground truth exactly as the release file writes it (stray spaces and "
        "empty items kept), which the release's judges pasted into their prompt; left out of "
        "dumps, exports and the dataset fingerprint",
    )

    @classmethod
    def create(
        cls,
        split: Split,
        image: str,
        question: str,
        triggers: list[str],
        truth_text: str | None = None,
    ) -> Sample:
        """Build a sample, deriving its id, source and emotion from the key; `truth_text` is the
        release's raw trigger list that `triggers` was parsed from."""
        return cls(
            id=sample_id(split, image, question),
            split=split,
            image=image,
            source=source_of(image),
            emotion=emotion_of(split, image),
            question=question,
            triggers=triggers,
            truth_text=truth_text,
        )


class Finding(BaseModel):
    """Something `eibench data check` reports: a warning (an oddity) or an error (a problem)."""

    model_config = ConfigDict(frozen=True)

    level: Literal["warning", "error"]
    where: str = Field(description="file:line or image key")
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"
