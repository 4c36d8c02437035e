"""The store's captions and call cache: a caption per (captioner, image) key, and a model's
response per request key (a hash of everything that shapes the request, the model's cache
identity among it: its spec, and its endpoint where that is not the backend's default)."""

from __future__ import annotations

from eibench.records.chat import ChatResponse
from eibench.store.tables import Tables, now


class CacheTables(Tables):
    """Tables `captions` and `call_cache`."""

    def caption(self, key: str) -> str | None:
        row = self._db.execute("SELECT text FROM captions WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["text"])

    def put_caption(self, key: str, captioner: str, image: str, text: str) -> None:
        with self.writing():
            self._db.execute(
                "INSERT OR REPLACE INTO captions (key, captioner, image, text, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, captioner, image, text, now()),
            )

    def cached_response(self, key: str) -> ChatResponse | None:
        row = self._db.execute("SELECT response FROM call_cache WHERE key = ?", (key,)).fetchone()
        return None if row is None else ChatResponse.model_validate_json(row["response"])

    def cache_response(self, key: str, model: str, response: ChatResponse) -> None:
        with self.writing():
            self._db.execute(
                "INSERT OR REPLACE INTO call_cache (key, model, response, created_at) "
                "VALUES (?, ?, ?, ?)",
                (key, model, response.model_dump_json(), now()),
            )
