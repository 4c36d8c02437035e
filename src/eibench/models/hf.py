"""Local models through transformers (`hf:ID_OR_DIR` or `hf:FILE.gguf`).

The model loads on first use with `AutoProcessor` + `AutoModelForImageTextToText` and answers
with its own chat template; a text-only model (a causal LM, such as a judge or the CFSA text
role) loads with `AutoTokenizer` + `AutoModelForCausalLM`, and a `.gguf` file is read by
transformers' GGUF loader (dequantized; needs the `gguf` package). Concurrent `chat()` calls
are gathered into batches of up to `options.batch_size` requests with the same
`GenerationParams` and generated together on one worker thread, so the event loop stays free.
torch and transformers are imported only on load.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import io
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eibench.models.base import (
    ChatRequest,
    ChatResponse,
    GenerationParams,
    ImagePart,
    ModelCallError,
    TextPart,
    Usage,
)
from eibench.models.decoding import generation_settings
from eibench.models.options import ModelOptions

if TYPE_CHECKING:
    from eibench.data.schema import Sample

COLLECT_WINDOW_S = 0.005  # how long the first request of a batch waits for company
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass
class _Pending:
    request: ChatRequest
    future: asyncio.Future[ChatResponse]
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = self.request.params.model_dump_json()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class HFChat:
    """A local transformers model; batches concurrent requests (see module docstring)."""

    def __init__(self, name: str, options: ModelOptions) -> None:
        if options.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {options.dtype!r}")
        self.spec = f"hf:{name}"
        self.name = name
        self.options = options
        self.batch_size = max(1, options.batch_size)
        self.batches_run = 0  # generate() calls made so far (for tests and progress)
        self._torch: Any = None
        self._model: Any = None
        self._processor: Any = None
        self._tokenizer: Any = None
        self._text_only = False  # a causal LM: no images, a tokenizer for a processor
        self._load_error: ModelCallError | None = None
        self._load_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[_Pending] = []
        self._drainer: asyncio.Task[None] | None = None

    @classmethod
    def load(cls, name: str, options: ModelOptions, samples: Sequence[Sample] = ()) -> HFChat:
        """The registry's way in: the model `name` (the split is not needed)."""
        return cls(name, options)

    # -- the async side ------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResponse:
        loop = asyncio.get_running_loop()
        item = _Pending(request, loop.create_future())
        self._pending.append(item)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        try:
            return await item.future
        finally:
            if item in self._pending:  # cancelled before its batch started
                self._pending.remove(item)

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eibench-hf")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _drain(self) -> None:
        """Load the model, then run batches until nothing is queued."""
        await asyncio.sleep(COLLECT_WINDOW_S)
        try:
            await self._run(self._load)
        except ModelCallError as exc:
            pending, self._pending = self._pending, []
            for item in pending:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        while self._pending:
            key = self._pending[0].key
            batch = [p for p in self._pending if p.key == key][: self.batch_size]
            for item in batch:
                self._pending.remove(item)
            batch = [p for p in batch if not p.future.done()]
            if not batch:
                continue
            try:
                results = await self._run(self._generate, [p.request for p in batch])
            except Exception as exc:  # a bug in the backend: fail the batch, keep serving
                results = [ModelCallError("server_error", _one_line(exc))] * len(batch)
            for item, result in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
            await asyncio.sleep(0)  # let requests that arrived meanwhile join the queue

    async def aclose(self) -> None:
        if self._drainer is not None and not self._drainer.done():
            await asyncio.wait([self._drainer])
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, True)
            self._executor = None
        model, self._model, self._processor = self._model, None, None
        if model is not None and self._torch is not None and self._torch.cuda.is_available():
            del model
            self._torch.cuda.empty_cache()

    # -- the worker thread ---------------------------------------------------------------------

    def _device(self, torch: Any) -> str:
        if self.options.device:
            return self.options.device
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"

    def _dtype(self, torch: Any, device: str) -> Any:
        if self.options.dtype != "auto":
            return getattr(torch, self.options.dtype)
        if (
            device.startswith("cuda")
            and torch.cuda.is_available()
            and torch.cuda.is_bf16_supported()
        ):
            return torch.bfloat16
        return torch.float32

    def _load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            if self._load_error is not None:
                raise self._load_error
            try:
                self._load_unlocked()
            except ModelCallError as exc:
                self._load_error = exc
                raise

    def _load_unlocked(self) -> None:
        try:  # typed as Any: the transformers/torch signatures are more hindrance than help
            torch: Any = importlib.import_module("torch")
            transformers: Any = importlib.import_module("transformers")
        except ImportError as exc:
            raise ModelCallError(
                "unavailable",
                f"hf models need torch and transformers ({exc}): pip install 'eibench[hf]'",
            ) from exc
        looks_local = self.name.startswith(("/", "./", "../", "~")) or Path(self.name).exists()
        path = Path(self.name).expanduser()
        gguf = path.suffix == ".gguf"
        if looks_local and not (path.is_file() if gguf else path.is_dir()):
            what = "GGUF file" if gguf else "model folder"
            raise ModelCallError("unavailable", f"{what} not found: {path}")
        source = str(path) if looks_local else self.name
        device_map = self.options.device_map
        device = "cpu" if device_map else self._device(torch)
        dtype = self._dtype(torch, "cuda" if device_map else device)
        try:
            processor, model = self._from_pretrained(transformers, source, dtype, device_map)
            if not device_map:
                model = model.to(device)
        except torch.cuda.OutOfMemoryError as exc:
            raise ModelCallError("unavailable", f"out of GPU memory loading {source}") from exc
        except Exception as exc:
            raise ModelCallError(
                "unavailable", f"cannot load {source!r}: {_one_line(exc)}"
            ) from exc
        tokenizer = getattr(processor, "tokenizer", processor)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        if getattr(processor, "chat_template", None) is None:
            raise ModelCallError("unavailable", f"{source!r} has no chat template")
        self._torch, self._processor, self._model = torch, processor, model.eval()
        self._tokenizer = tokenizer

    def _from_pretrained(
        self, transformers: Any, source: str, dtype: Any, device_map: str | None
    ) -> tuple[Any, Any]:
        """The processor (a tokenizer for a text-only model) and the model at `source`."""
        kwargs: dict[str, Any] = {"dtype": dtype, "device_map": device_map}
        if source.endswith(".gguf"):  # transformers reads GGUF from its folder
            folder, kwargs["gguf_file"] = str(Path(source).parent), Path(source).name
            self._text_only = True
        else:
            folder = source
            config = transformers.AutoConfig.from_pretrained(source)
            vision = transformers.models.auto.modeling_auto
            names = vision.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
            self._text_only = config.model_type not in names
        if self._text_only:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                folder, gguf_file=kwargs.get("gguf_file")
            )
            return tokenizer, transformers.AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        processor = transformers.AutoProcessor.from_pretrained(folder)
        return processor, transformers.AutoModelForImageTextToText.from_pretrained(folder, **kwargs)

    def _prompt(self, request: ChatRequest) -> tuple[str, list[Any]]:
        """The chat-template text of one request and its images, in order."""
        from PIL import Image

        conversation: list[dict[str, Any]] = []
        images: list[Any] = []
        if self._text_only:
            if any(message.images() for message in request.messages):
                raise ValueError(f"{self.name} is a text-only model: it takes no images")
            conversation = [{"role": m.role, "content": m.plain_text()} for m in request.messages]
            text = self._processor.apply_chat_template(
                conversation, add_generation_prompt=True, tokenize=False
            )
            return str(text), images
        for message in request.messages:
            content: list[dict[str, Any]] = []
            for part in message.content:
                if isinstance(part, TextPart):
                    content.append({"type": "text", "text": part.text})
                elif isinstance(part, ImagePart):
                    with Image.open(io.BytesIO(part.data)) as img:
                        images.append(img.convert("RGB"))
                    content.append({"type": "image"})
            conversation.append({"role": message.role, "content": content})
        text = self._processor.apply_chat_template(
            conversation, add_generation_prompt=True, tokenize=False
        )
        return str(text), images

    def _generation_config(self, params: GenerationParams) -> Any:
        """The model's generation config with `params` applied (see `generation_settings`)."""
        gen = copy.deepcopy(self._model.generation_config)
        gen.pad_token_id = self._tokenizer.pad_token_id
        for name, value in generation_settings(params).items():
            setattr(gen, name, value)
        return gen

    def _generate(self, requests: list[ChatRequest]) -> list[ChatResponse | ModelCallError]:
        """Generate one batch (all with the same params); a bad image fails only its request."""
        results: list[ChatResponse | ModelCallError | None] = [None] * len(requests)
        texts: list[str] = []
        images: list[Any] = []
        rows: list[int] = []
        for i, request in enumerate(requests):
            try:
                text, imgs = self._prompt(request)
            except Exception as exc:
                results[i] = ModelCallError(
                    "bad_request", f"cannot build the prompt: {_one_line(exc)}"
                )
                continue
            texts.append(text)
            images.extend(imgs)
            rows.append(i)
        if rows:
            generated = self._run_batch(texts, images, requests[rows[0]].params)
            for row, i in enumerate(rows):
                results[i] = generated if isinstance(generated, ModelCallError) else generated[row]
        return [r for r in results if r is not None]

    def _run_batch(
        self, texts: list[str], images: list[Any], params: GenerationParams
    ) -> list[ChatResponse] | ModelCallError:
        """The model's replies to the prompts, or the one error that failed the whole batch."""
        torch = self._torch
        try:
            # add_special_tokens=False: the chat template already has them
            if self._text_only:
                inputs = self._processor(
                    texts, padding=True, add_special_tokens=False, return_tensors="pt"
                ).to(self._model.device)
            else:
                inputs = self._processor(
                    text=texts,
                    images=images or None,
                    padding=True,
                    add_special_tokens=False,
                    return_tensors="pt",
                ).to(self._model.device, dtype=self._model.dtype)
            if params.seed is not None:
                torch.manual_seed(params.seed)
            with torch.inference_mode():
                output = self._model.generate(
                    **inputs, generation_config=self._generation_config(params)
                )
            self.batches_run += 1
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            return ModelCallError(
                "server_error",
                f"CUDA out of memory on a batch of {len(texts)}: "
                f"lower --batch-size ({_one_line(exc)})",
            )
        except Exception as exc:
            return ModelCallError("bad_request", f"generation failed: {_one_line(exc)}")
        prompt_lens = inputs["attention_mask"].sum(dim=1).tolist()
        new_tokens = output[:, inputs["input_ids"].shape[1] :].tolist()
        pairs = zip(new_tokens, prompt_lens, strict=True)
        return [self._reply(tokens, int(n)) for tokens, n in pairs]

    def _reply(self, tokens: list[int], prompt_tokens: int) -> ChatResponse:
        """The reply up to the first end-of-sequence token, with its usage."""
        eos = self._model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        stop = next((k for k, t in enumerate(tokens) if t in eos_ids), None)
        kept = tokens if stop is None else tokens[:stop]
        return ChatResponse(
            text=self._tokenizer.decode(kept, skip_special_tokens=False),
            usage=Usage(input_tokens=prompt_tokens, output_tokens=len(kept) + (stop is not None)),
            finish_reason="stop" if stop is not None else "length",
            model=self.name,
        )
