"""The review commands' defences, through the real CLI entry and a real run store: names that
would escape the export folder are refused, lost login links are reissued (and links revoked),
and links that cannot be written out never leave a campaign nobody can open."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from eibench.review.app import create_app
from eibench.review.campaigns import Response, add_response, campaign_names, items, login
from eibench.store import Store
from tests.cli import invoke
from tests.test_review_web import Server, Site, signin


def create_args(ws: Path, release_dir: Path, raters: str, *extra: str) -> list[str]:
    return ["review", "create", "--workspace", str(ws), "--data", str(release_dir),
            "--kind", "rate", "--from", "basic", "--sample", "3", "--raters", raters,
            *extra]  # fmt: skip


def links_of(text: str) -> dict[str, str]:
    """rater -> login token, from `rater<TAB>link` lines."""
    pairs = (line.split("\t") for line in text.strip().splitlines())
    return {rater: link.rsplit("/login/", 1)[1] for rater, link in pairs}


@pytest.mark.parametrize(
    ("raters", "name", "bad"),
    [
        ("../../../outside/pwn,ok", "c", "../../../outside/pwn"),
        ("ok,a\\b", "c", "a\\b"),
        ("ok,..", "c", ".."),
        ("ok,tab\there", "c", "tab\there"),
        ("ok,esc\x1b[31m", "c", "esc\x1b[31m"),
        ("ok,rtl\u202eexe", "c", "rtl\u202eexe"),
        ("ok,,b", "c", ""),
        ("ok", "../up", "../up"),
        ("ok", "", ""),
    ],
)
def test_create_refuses_names_that_are_not_plain(
    capsys, tmp_path: Path, release_dir: Path, raters: str, name: str, bad: str
) -> None:
    ws = tmp_path / "deep" / "ws"
    result = invoke(capsys, *create_args(ws, release_dir, raters, "--name", name))
    assert result.code == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert repr(bad) in result.err and "not allowed" in result.err
    assert not ws.exists()  # nothing written, not even the store


def test_export_never_writes_outside_its_folder_for_an_old_store(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws, out = tmp_path / "a" / "ws", tmp_path / "a" / "out"
    assert invoke(capsys, *create_args(ws, release_dir, "pwn,ok", "--name", "c")).code == 0
    # as a store made before names were checked could hold
    with contextlib.closing(sqlite3.connect(ws / "eibench.sqlite")) as db, db:
        record = json.loads(db.execute("SELECT record FROM review_campaigns").fetchone()[0])
        record["raters"] = ["../../../outside/pwn", "ok"]
        db.execute("UPDATE review_campaigns SET record = ?", (json.dumps(record),))
        db.execute("UPDATE review_raters SET rater = '../../../outside/pwn' WHERE rater = 'pwn'")
    with Store.open(ws) as store:
        for item in items(store, "c"):
            for rater in ("../../../outside/pwn", "ok"):
                add_response(store, "c", Response(kind="rate", rater=rater, item_id=item.item_id,
                                                  score=4))  # fmt: skip
    result = invoke(capsys, "review", "export", "c", "--out", str(out), "--workspace", str(ws))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "'../../../outside/pwn'" in result.err and "nothing was written" in result.err
    written = [p for p in tmp_path.rglob("*") if p.is_file() and ws not in p.parents]
    assert written == []  # neither inside --out nor anywhere above it
    as_csv = ["--format", "csv", "--workspace", str(ws)]
    assert invoke(capsys, "review", "export", "c", "--out", str(out), *as_csv).code == 0
    assert [p.name for p in out.iterdir()] == ["ratings.csv"]


def test_links_reissue_and_revoke_take_effect_on_the_running_server(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    made = invoke(capsys, *create_args(ws, release_dir, "a,b", "--name", "c"))
    assert made.code == 0, made.err
    first = links_of(made.out)
    with Server(create_app(ws, None, None)) as server:
        site = Site(server.url, ws, ["c"])
        cookie_a, _ = signin(site, first["a"])
        cookie_b, _ = signin(site, first["b"])
        common = ["--workspace", str(ws), "--base-url", server.url]

        reissued = invoke(capsys, "review", "links", "c", "--reissue", "a", *common)
        assert reissued.code == 0, reissued.err
        assert reissued.out.startswith(f"a\t{server.url}/login/")
        new_a = links_of(reissued.out)["a"]
        assert new_a != first["a"]
        assert httpx.get(f"{server.url}/login/{first['a']}").status_code == 403
        assert httpx.get(f"{server.url}/task/0", headers=cookie_a).status_code == 401
        assert httpx.get(f"{server.url}/task/0", headers=cookie_b).status_code == 200
        signin(site, new_a)

        revoked = invoke(capsys, "review", "links", "c", "--revoke", "b", *common)
        assert revoked.code == 0 and revoked.out == "" and "revoked b" in revoked.err
        assert httpx.get(f"{server.url}/login/{first['b']}").status_code == 403
        assert httpx.get(f"{server.url}/task/0", headers=cookie_b).status_code == 401
        listing = invoke(capsys, "review", "links", "c", *common)
        cells = [[c.strip() for c in line.split("│")[1:-1]] for line in listing.out.splitlines()]
        rows = {row[0]: row[1:] for row in cells if row and row[0] in ("a", "b")}
        assert rows == {"a": ["active", "1"], "b": ["revoked", "0"]}

        back = links_of(invoke(capsys, "review", "links", "c", "--reissue", "b", *common).out)
        signin(site, back["b"])
        for bad in (["--reissue", "zed"], ["--revoke", "a", "--reissue", "a"]):
            refused = invoke(capsys, "review", "links", "c", *bad, *common)
            assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1
    dump = "\n".join(sqlite3.connect(ws / "eibench.sqlite").iterdump())
    assert new_a not in dump and back["b"] not in dump  # only hashes are stored


def eibench_to_dev_full(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the real `eibench` command with its standard output on a full device."""
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "eibench", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)  # fmt: skip


def test_links_that_cannot_be_written_out_are_never_committed(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    args = create_args(ws, release_dir, "a,b", "--name", "c")
    lost = eibench_to_dev_full(args)
    assert lost.returncode == 2 and "Traceback" not in lost.stderr
    error = [line for line in lost.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "was not created" in error[0] and "No space" in error[0]
    with Store.open(ws) as store:
        assert campaign_names(store) == []
    made = invoke(capsys, *args)  # so the same command simply works again
    assert made.code == 0, made.err
    tokens = links_of(made.out)

    lost = eibench_to_dev_full(["review", "links", "c", "--reissue", "a", "--workspace", str(ws)])
    assert lost.returncode == 2 and "old links still work" in lost.stderr
    with Store.open(ws) as store:
        found = login(store, tokens["a"])
        assert found is not None and found[1] == "a"


def test_a_workspace_made_before_sessions_and_revocation_keeps_working(
    capsys, tmp_path: Path, release_dir: Path
) -> None:
    ws = tmp_path / "ws"
    made = invoke(capsys, *create_args(ws, release_dir, "a", "--name", "c"))
    assert made.code == 0, made.err
    with sqlite3.connect(ws / "eibench.sqlite") as db:  # the review tables of older versions
        db.executescript(
            "DROP TABLE review_sessions; DROP TABLE review_revoked; PRAGMA user_version = 0;"
        )
    with Server(create_app(ws, None, None)) as server:
        cookie, _ = signin(Site(server.url, ws, ["c"]), links_of(made.out)["a"])
        assert httpx.get(f"{server.url}/task/0", headers=cookie).status_code == 200
    listing = invoke(capsys, "review", "links", "c", "--workspace", str(ws))
    assert listing.code == 0 and "active" in listing.out
