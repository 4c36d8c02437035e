"""The paper's prompts verbatim, personas, the prior baseline, sample selection, text cleaning."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from eibench.data import load_split
from eibench.models.base import ChatRequest, Message
from eibench.models.clean import clean_text
from eibench.models.prior import PriorModel
from eibench.runner.select import select_samples, stratified_subset
from eibench.settings import Setting

Q = "What might have caused the man sitting in the image to become agitated or angry?"


@pytest.fixture(scope="module")
def basic(release_dir: Path):
    return load_split(release_dir, "basic").samples


def _sample(basic, question: str = Q):
    return next(s for s in basic if s.question == question)


def test_user_prompt_is_the_papers_verbatim(basic) -> None:
    prompt = Setting(name="user").prompt(_sample(basic))
    assert prompt == f"You are a good expert of emotion understanding. Look at the image, {Q}"


def test_cot_prompt_is_the_papers_verbatim(basic) -> None:
    prompt = Setting(name="cot").prompt(_sample(basic))
    assert prompt == (
        f"You are a good expert of emotion understanding. Look at the image, {Q}. "
        "Let's think step by step."
    )


def test_personas_change_only_the_prefix(basic) -> None:
    sample = _sample(basic)
    assert Setting(persona="none").prompt(sample) == f"Look at the image, {Q}"
    assert Setting(persona="architecture").prompt(sample).endswith(f"Look at the image, {Q}")
    versions = {Setting(persona=p).prompt_version() for p in ("emotion", "none", "assistant")}
    assert len(versions) == 3


def test_caption_settings_include_the_caption_and_text_only_sends_no_image(basic) -> None:
    from eibench.models.base import ImagePart

    sample = _sample(basic)
    image = ImagePart(media_type="image/png", data=b"png")
    with_image = Setting(name="caption").messages(sample, image, caption="A man shouts.")
    text_only = Setting(name="caption", text_only=True).messages(sample, image, "A man shouts.")
    assert with_image[0].images() == [image]
    assert "A man shouts." in with_image[0].plain_text()
    assert text_only[0].images() == []
    assert "A man shouts." in text_only[0].plain_text() and Q in text_only[0].plain_text()
    with pytest.raises(ValueError):
        Setting(name="caption").prompt(sample)


def test_prior_never_answers_with_its_own_unique_triggers(basic) -> None:
    prior = PriorModel(basic)
    counts: dict[tuple[str, str], Counter[str]] = {}
    for s in basic:
        counts.setdefault((s.split, s.emotion), Counter()).update(
            {t.casefold().rstrip(".") for t in s.triggers}
        )
    for sample in basic[:300]:
        answer = prior.triggers_for(sample)
        assert len(answer) == 5
        own = {t.casefold().rstrip(".") for t in sample.triggers}
        for trigger in answer:
            key = trigger.casefold()
            # every trigger given is supported by at least one *other* sample of the emotion
            assert counts[sample.split, sample.emotion][key] - (key in own) >= 1


def test_prior_leave_one_out_matches_a_brute_force_count(basic) -> None:
    prior = PriorModel(basic)
    sample = basic[10]
    others: Counter[str] = Counter()
    for s in basic:
        if s.emotion == sample.emotion and s.id != sample.id:
            others.update({t.casefold().rstrip(".") for t in s.triggers})
    expected = [name for name, _ in sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    assert [t.casefold() for t in prior.triggers_for(sample)] == expected


def test_prior_chat_is_deterministic_and_needs_a_known_sample(basic) -> None:
    from eibench.models.base import ModelCallError

    prior = PriorModel(basic)
    request = ChatRequest(messages=[Message.text("user", "q")], context={"sample_id": basic[0].id})
    first = asyncio.run(prior.chat(request))
    assert first.text == asyncio.run(prior.chat(request)).text
    assert first.text.startswith("1. ")
    with pytest.raises(ModelCallError):
        asyncio.run(prior.chat(ChatRequest(messages=[Message.text("user", "q")])))


def test_stratified_subset_is_seeded_and_proportional(basic) -> None:
    a = stratified_subset(basic, 100, seed=1)
    assert a == stratified_subset(basic, 100, seed=1)
    assert a != stratified_subset(basic, 100, seed=2)
    assert len(a) == 100
    counts = Counter(s.emotion for s in a)
    # quotas 44.58, 28.61, 21.18, 5.63: floors 98, the two largest remainders (happy, sad) +1
    assert counts == {"excited": 44, "sad": 29, "angry": 21, "happy": 6}
    order = [s.id for s in basic]
    assert [s.id for s in a] == sorted((s.id for s in a), key=order.index)


def test_a_small_stratified_subset_still_has_every_emotion(basic) -> None:
    # quotas for 5: 2.23 excited, 1.43 sad, 1.06 angry, 0.28 happy: happy gets its one place
    counts = Counter(s.emotion for s in stratified_subset(basic, 5, seed=0))
    assert counts == {"excited": 2, "sad": 1, "angry": 1, "happy": 1}
    assert len(stratified_subset(basic, 3, seed=0)) == 3  # fewer places than emotions


def test_select_samples_by_ids_and_limit(basic) -> None:
    ids = [basic[5].id, basic[2].id]
    assert [s.id for s in select_samples(basic, sample_ids=ids)] == [basic[2].id, basic[5].id]
    assert select_samples(basic, limit=3) == basic[:3]
    from eibench.errors import EIBenchError

    with pytest.raises(EIBenchError, match="unknown sample id"):
        select_samples(basic, sample_ids=["nope"])


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("1. A fist.</s>", "1. A fist."),
        ("<|im_start|>assistant\nHe is angry.<|im_end|>", "assistant\nHe is angry."),
        ("<think>The user wants...</think>\n\nHe lost.", "He lost."),
        ("reasoning without an opening tag</think>The answer.", "The answer."),
        ("<think>cut off by the token limit", ""),
        ("Plain answer with <b>html</b>.<|eot_id|>", "Plain answer with <b>html</b>."),
    ],
)
def test_clean_text_strips_special_tokens_and_reasoning(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
