"""`eibench data download` and `download_release` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eibench.data import load_split
from eibench.data.download import DownloadError, download_release, sha256_of
from eibench.data.release import FOLDER, RELEASE_FILES, default_cache_dir
from tests.cli import invoke

REQUIRED = [f.path for f in RELEASE_FILES if f.required]
HUMAN_EVAL = [f.path for f in RELEASE_FILES if not f.required]
TIMEOUT = 5.0
# The URL prefix of the release files in each layout a mirror may use.
LAYOUTS = {"repo": f"/{FOLDER}/", "folder": "/"}


@dataclass
class Mirror:
    """What the test server serves: URL path -> body, and how to misbehave."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    truncated: set[str] = field(default_factory=set)  # send a too-large Content-Length, then close
    gzipped: bool = False  # send every body with Content-Encoding: gzip
    requests: list[str] = field(default_factory=list)
    prefix: str = "/"

    def publish(self, release: Path, layout: str) -> None:
        """Serve every file of `release` under the URL prefix of `layout`."""
        self.prefix = LAYOUTS[layout]
        for f in RELEASE_FILES:
            self.files[self.path_of(f.path)] = (release / f.path).read_bytes()

    def path_of(self, rel: str) -> str:
        """The served URL path of release file `rel`."""
        return self.prefix + rel


def _handler(mirror: Mirror) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            mirror.requests.append(self.path)
            body = mirror.files.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if mirror.gzipped:
                body = gzip.compress(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if mirror.gzipped:
                self.send_header("Content-Encoding", "gzip")
            if self.path in mirror.truncated:
                self.send_header("Content-Length", str(len(body) + 1000))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    """An empty HTTP mirror on 127.0.0.1 in a background thread; tests fill `mirror.files`."""
    state = Mirror()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def tree(path: Path) -> list[str]:
    """Every file and folder under `path`, hidden ones included, as sorted relative paths."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def assert_verified(dest: Path, paths: list[str], release_dir: Path) -> None:
    for rel in paths:
        spec = next(f for f in RELEASE_FILES if f.path == rel)
        assert sha256_of(dest / rel) == spec.sha256
        assert (dest / rel).read_bytes() == (release_dir / rel).read_bytes()


def assert_loads(dest: Path) -> None:
    assert len(load_split(dest, "basic").samples) == 1615
    assert len(load_split(dest, "complex").samples) == 50


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    for needle in needles:
        assert needle in lines[0], err


def corrupt(body: bytes) -> bytes:
    """The same bytes with one byte changed."""
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1 :]


# --- success ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["repo", "folder"])
def test_download_from_url_in_either_layout(
    layout: str, mirror: Mirror, release_dir: Path, tmp_path: Path
) -> None:
    mirror.publish(release_dir, layout)
    dest = tmp_path / "dest"
    seen: list[tuple[str, int]] = []

    paths = download_release(
        dest, mirror.url, timeout=TIMEOUT, progress=lambda f, n: seen.append((f.path, n))
    )

    assert paths == [dest / rel for rel in REQUIRED]
    assert tree(dest) == sorted(["EI_Basic", "EI_Complex", *REQUIRED])
    assert_verified(dest, REQUIRED, release_dir)
    assert_loads(dest)
    assert not (dest / "human_eval").exists()
    # The progress callback saw every byte of every file.
    for rel in REQUIRED:
        assert sum(n for p, n in seen if p == rel) == (release_dir / rel).stat().st_size
    # Only the required files were fetched (misses on the other layout are 404s, not fetches).
    fetched = {p for p in mirror.requests if p in mirror.files}
    assert fetched == {LAYOUTS[layout] + rel for rel in REQUIRED}


@pytest.mark.parametrize("layout", ["repo", "folder"])
def test_cli_download_with_human_eval(
    layout: str,
    mirror: Mirror,
    release_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror.publish(release_dir, layout)
    dest = tmp_path / "dest"

    result = invoke(
        capsys, "data", "download", "--dest", str(dest), "--source", mirror.url, "--human-eval"
    )

    assert result.code == 0, result.err
    assert result.out.strip() == str(dest)
    assert "verified 6 of 6 files" in result.err
    assert_verified(dest, REQUIRED + HUMAN_EVAL, release_dir)
    assert sorted(p.name for p in (dest / "human_eval").iterdir()) == [
        "score_7861.jsonl",
        "score_7862.jsonl",
        "score_7866.jsonl",
    ]
    assert_loads(dest)


def test_cli_download_without_human_eval_skips_it(
    mirror: Mirror, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror.publish(release_dir, "repo")
    dest = tmp_path / "dest"

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", mirror.url)

    assert result.code == 0, result.err
    assert "verified 3 of 3 files" in result.err
    assert_verified(dest, REQUIRED, release_dir)
    assert not (dest / "human_eval").exists()
    assert not any("human_eval" in p for p in mirror.requests)


def test_download_into_existing_folder_keeps_other_files(
    mirror: Mirror, release_dir: Path, tmp_path: Path
) -> None:
    mirror.publish(release_dir, "repo")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")

    download_release(dest, mirror.url, timeout=TIMEOUT)

    assert (dest / "notes.txt").read_text() == "mine"
    assert tree(dest) == sorted(["EI_Basic", "EI_Complex", "notes.txt", *REQUIRED])
    assert_loads(dest)


def test_download_gzip_encoded_response(mirror: Mirror, release_dir: Path, tmp_path: Path) -> None:
    """A server that compresses on the wire (as raw.githubusercontent.com does) still verifies:
    Content-Length counts the encoded bytes, not the decoded ones."""
    mirror.publish(release_dir, "repo")
    mirror.gzipped = True
    dest = tmp_path / "dest"

    download_release(dest, mirror.url, timeout=TIMEOUT)

    assert_verified(dest, REQUIRED, release_dir)


@pytest.mark.parametrize("layout", ["repo", "folder"])
def test_download_from_local_folder_in_either_layout(
    layout: str, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mirror"
    shutil.copytree(release_dir, source / FOLDER if layout == "repo" else source)
    dest = tmp_path / "dest"

    result = invoke(
        capsys, "data", "download", "--dest", str(dest), "--source", str(source), "--human-eval"
    )

    assert result.code == 0, result.err
    assert_verified(dest, REQUIRED + HUMAN_EVAL, release_dir)
    assert_loads(dest)


def test_download_from_local_folder_missing_file(
    release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mirror"
    shutil.copytree(release_dir, source)
    (source / "EI_Complex" / "ec_complex.jsonl").unlink()
    dest = tmp_path / "dest"

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", str(source))

    assert result.code == 2
    assert_one_line_error(result.err, "EI_Complex/ec_complex.jsonl", "not found")
    assert not dest.exists()


def test_cli_default_dest_is_eibench_data(
    mirror: Mirror,
    release_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror.publish(release_dir, "folder")
    home = tmp_path / "eibench-data"
    monkeypatch.setenv("EIBENCH_DATA", str(home))

    result = invoke(capsys, "data", "download", "--source", mirror.url)

    assert result.code == 0, result.err
    assert result.out.strip() == str(home)
    assert_verified(home, REQUIRED, release_dir)

    stats = invoke(capsys, "data", "stats", "--json")

    assert stats.code == 0, stats.err
    payload = json.loads(stats.out)
    assert payload["basic"]["overall"]["samples"] == 1615
    assert payload["complex"]["overall"]["samples"] == 50


def test_cli_default_dest_without_env_is_user_cache(
    mirror: Mirror, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """conftest points XDG_CACHE_HOME into tmp_path, so the user cache is isolated."""
    mirror.publish(release_dir, "repo")
    cache = default_cache_dir()
    assert cache.is_relative_to(tmp_path)

    result = invoke(capsys, "data", "download", "--source", mirror.url)

    assert result.code == 0, result.err
    assert result.out.strip() == str(cache)
    assert_verified(cache, REQUIRED, release_dir)
    stats = invoke(capsys, "data", "stats", "--json", "--split", "complex")
    assert stats.code == 0, stats.err
    assert json.loads(stats.out)["complex"]["overall"]["samples"] == 50


# --- failures leave nothing behind -----------------------------------------------------------


@pytest.mark.parametrize("layout", ["repo", "folder"])
def test_checksum_mismatch_new_dest(
    layout: str,
    mirror: Mirror,
    release_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror.publish(release_dir, layout)
    # The last required file: the two before it are already staged when it fails.
    bad = mirror.path_of("EI_Complex/ec_complex.jsonl")
    mirror.files[bad] = corrupt(mirror.files[bad])
    dest = tmp_path / "dest"

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", mirror.url)

    assert result.code == 2
    assert_one_line_error(result.err, "checksum", "EI_Complex/ec_complex.jsonl")
    assert result.out == ""
    assert not dest.exists()
    assert tree(tmp_path) == []


def test_checksum_mismatch_existing_dest_untouched(
    mirror: Mirror, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror.publish(release_dir, "repo")
    bad = mirror.path_of("EI_Complex/ec_complex.jsonl")
    mirror.files[bad] = corrupt(mirror.files[bad])
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", mirror.url)

    assert result.code == 2
    assert_one_line_error(result.err, "checksum")
    assert tree(dest) == ["notes.txt"]
    assert (dest / "notes.txt").read_text() == "mine"


def test_checksum_mismatch_keeps_previous_release(
    mirror: Mirror, release_dir: Path, tmp_path: Path
) -> None:
    """A failed update leaves the earlier good download exactly as it was."""
    mirror.publish(release_dir, "repo")
    dest = tmp_path / "dest"
    download_release(dest, mirror.url, timeout=TIMEOUT)
    before = {rel: (dest / rel).read_bytes() for rel in REQUIRED}
    bad = mirror.path_of("EI_Complex/ec_complex.jsonl")
    mirror.files[bad] = corrupt(mirror.files[bad])

    with pytest.raises(DownloadError, match="checksum"):
        download_release(dest, mirror.url, human_eval=True, timeout=TIMEOUT)

    assert tree(dest) == sorted(["EI_Basic", "EI_Complex", *REQUIRED])
    assert {rel: (dest / rel).read_bytes() for rel in REQUIRED} == before


def test_checksum_mismatch_library_error(mirror: Mirror, release_dir: Path, tmp_path: Path) -> None:
    mirror.publish(release_dir, "folder")
    bad = mirror.path_of("human_eval/score_7866.jsonl")
    mirror.files[bad] = corrupt(mirror.files[bad])
    dest = tmp_path / "a" / "dest"

    with pytest.raises(DownloadError, match=r"human_eval/score_7866\.jsonl: checksum mismatch"):
        download_release(dest, mirror.url, human_eval=True, timeout=TIMEOUT)

    assert not dest.exists()
    # Without --human-eval the corrupted extra file is never fetched, so the download succeeds.
    download_release(dest, mirror.url, timeout=TIMEOUT)
    assert_verified(dest, REQUIRED, release_dir)


@pytest.mark.parametrize("existing", [False, True])
def test_partial_download(
    existing: bool,
    mirror: Mirror,
    release_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror.publish(release_dir, "repo")
    mirror.truncated.add(mirror.path_of("EI_Basic/basic_ground_truth.json"))
    dest = tmp_path / "dest"
    if existing:
        dest.mkdir()
        (dest / "notes.txt").write_text("mine")

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", mirror.url)

    assert result.code == 2
    assert_one_line_error(result.err, "basic_ground_truth.json")
    if existing:
        assert tree(dest) == ["notes.txt"]
        assert (dest / "notes.txt").read_text() == "mine"
    else:
        assert not dest.exists()


def test_partial_download_library_error(mirror: Mirror, release_dir: Path, tmp_path: Path) -> None:
    mirror.publish(release_dir, "folder")
    mirror.truncated.add(mirror.path_of("EI_Basic/user.jsonl"))
    dest = tmp_path / "dest"

    with pytest.raises(DownloadError, match=r"EI_Basic/user\.jsonl"):
        download_release(dest, mirror.url, timeout=TIMEOUT)

    assert not dest.exists()


@pytest.mark.parametrize("layout", ["repo", "folder"])
def test_missing_file_is_named(
    layout: str,
    mirror: Mirror,
    release_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mirror.publish(release_dir, layout)
    del mirror.files[mirror.path_of("EI_Basic/basic_ground_truth.json")]
    dest = tmp_path / "dest"

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", mirror.url)

    assert result.code == 2
    assert_one_line_error(result.err, "EI_Basic/basic_ground_truth.json", "not found")
    assert not dest.exists()
    # Both layouts were tried for the missing file.
    assert f"/{FOLDER}/EI_Basic/basic_ground_truth.json" in mirror.requests
    assert "/EI_Basic/basic_ground_truth.json" in mirror.requests


def test_server_error_is_reported(
    mirror: Mirror, release_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens on the URL: a connection error, not a traceback."""
    mirror.publish(release_dir, "repo")
    dead = mirror.url.rsplit(":", 1)[0] + ":1"
    dest = tmp_path / "dest"

    result = invoke(capsys, "data", "download", "--dest", str(dest), "--source", dead)

    assert result.code == 2
    assert_one_line_error(result.err, "download failed")
    assert not dest.exists()
