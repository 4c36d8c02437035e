"""The local transformers backend, end to end on a tiny random LLaVA built offline."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from eibench.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    Message,
    ModelCallError,
    TextPart,
)
from eibench.models.registry import ModelOptions, load_model
from tests.tiny_vlm import tiny_llava_dir

__all__ = ["tiny_llava_dir"]  # the fixture, re-exported so pytest finds it

GREEDY = GenerationParams(temperature=0.0, max_tokens=6)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def png(color: tuple[int, int, int], size: tuple[int, int] = (48, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def image_request(text: str, color: tuple[int, int, int] = (200, 40, 40)) -> ChatRequest:
    parts = [ImagePart(media_type="image/png", data=png(color)), TextPart(text=text)]
    return ChatRequest(messages=[Message(role="user", content=parts)], params=GREEDY)


@pytest.fixture
def model(tiny_llava_dir: Path) -> Iterator[ChatModel]:
    m = load_model("hf:" + str(tiny_llava_dir), ModelOptions(device="cpu", batch_size=4))
    yield m
    asyncio.run(m.aclose())


def test_image_and_text_request(model: ChatModel) -> None:
    assert model.spec.startswith("hf:")
    response = asyncio.run(model.chat(image_request("How does the person feel?")))
    assert isinstance(response.text, str)
    assert "<image>" not in response.text and "How does" not in response.text  # no prompt
    assert response.usage.input_tokens > 16  # the 16 image tokens plus the text
    assert 0 < response.usage.output_tokens <= GREEDY.max_tokens
    assert response.finish_reason in {"stop", "length"}


def test_concurrent_requests_are_batched(model: ChatModel) -> None:
    requests = [image_request(f"Question number {i}?", (40 * i, 90, 20)) for i in range(5)]

    async def go() -> list[ChatResponse]:
        return await asyncio.gather(*(model.chat(r) for r in requests))

    responses = asyncio.run(go())
    assert len(responses) == 5
    assert all(r.usage.output_tokens > 0 for r in responses)
    batches = model.batches_run  # type: ignore[attr-defined]
    assert 1 <= batches < len(requests)  # batch_size 4: two batches, not five


def test_different_params_are_not_mixed(model: ChatModel) -> None:
    short = GenerationParams(temperature=0.0, max_tokens=2)
    long = GenerationParams(temperature=0.0, max_tokens=7)
    requests = [
        ChatRequest(messages=[Message.text("user", f"Say something {i}")], params=p)
        for i, p in enumerate([short, long, short, long])
    ]

    async def go() -> list[ChatResponse]:
        return await asyncio.gather(*(model.chat(r) for r in requests))

    responses = asyncio.run(go())
    assert model.batches_run == 2  # type: ignore[attr-defined]
    for request, response in zip(requests, responses, strict=True):
        assert response.usage.output_tokens <= request.params.max_tokens


def test_greedy_is_deterministic(model: ChatModel) -> None:
    request = image_request("Why is she smiling?")
    first = asyncio.run(model.chat(request))
    second = asyncio.run(model.chat(request))
    assert first.text == second.text
    assert first.usage == second.usage


def test_seeded_sampling_repeats(model: ChatModel) -> None:
    params = GenerationParams(temperature=1.0, top_p=0.9, max_tokens=6, seed=7)
    request = ChatRequest(messages=[Message.text("user", "Tell me a story")], params=params)
    first = asyncio.run(model.chat(request))
    second = asyncio.run(model.chat(request))
    assert first.text == second.text


def test_text_only_request(model: ChatModel) -> None:
    request = ChatRequest(
        messages=[
            Message.text("system", "You are a careful annotator."),
            Message.text("user", "What emotion fits a lost job?"),
        ],
        params=GREEDY,
    )
    response = asyncio.run(model.chat(request))
    assert isinstance(response.text, str)
    assert response.usage.output_tokens > 0
    text_only = ChatRequest(messages=[Message.text("user", "Happy?")], params=GREEDY)
    with_image = image_request("Happy?")
    plain, pictured = (asyncio.run(model.chat(r)) for r in (text_only, with_image))
    # the image adds exactly its 16 image tokens; the text-only prompt has none
    assert pictured.usage.input_tokens - plain.usage.input_tokens == 16


def test_bad_image_fails_only_its_request(model: ChatModel) -> None:
    bad = ChatRequest(
        messages=[
            Message(
                role="user",
                content=[ImagePart(media_type="image/png", data=b"not a png"), TextPart(text="?")],
            )
        ],
        params=GREEDY,
    )

    async def go() -> tuple[ChatResponse | BaseException, ...]:
        good = image_request("Fine?")
        return await asyncio.gather(model.chat(bad), model.chat(good), return_exceptions=True)

    failed, ok = asyncio.run(go())
    assert isinstance(failed, ModelCallError) and failed.kind == "bad_request"
    assert isinstance(ok, ChatResponse)


def test_missing_dir_is_unavailable(tmp_path: Path) -> None:
    model = load_model("hf:" + str(tmp_path / "nope"), ModelOptions(device="cpu"))
    with pytest.raises(ModelCallError) as info:
        asyncio.run(model.chat(image_request("hi")))
    assert info.value.kind == "unavailable"
    assert "\n" not in str(info.value)


def test_unloadable_dir_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    model = load_model("hf:" + str(tmp_path), ModelOptions(device="cpu"))
    with pytest.raises(ModelCallError) as info:
        asyncio.run(model.chat(image_request("hi")))
    assert info.value.kind == "unavailable"


def test_batched_equals_one_by_one_with_mixed_inputs(model: ChatModel) -> None:
    """Left padding keeps a batched answer identical to the same request alone, and a batch
    may mix requests with and without images."""
    requests = [
        image_request("Short?"),
        image_request("A much longer question about the picture, with more words?", (1, 2, 3)),
        ChatRequest(
            messages=[Message.text("user", "Text only, no picture at all.")], params=GREEDY
        ),
    ]
    alone = [asyncio.run(model.chat(r)) for r in requests]

    async def go() -> list[ChatResponse]:
        return await asyncio.gather(*(model.chat(r) for r in requests))

    before = model.batches_run  # type: ignore[attr-defined]
    together = asyncio.run(go())
    assert model.batches_run == before + 1  # type: ignore[attr-defined]
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.usage for r in together] == [r.usage for r in alone]
