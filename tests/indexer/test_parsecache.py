import os
import shutil
from pathlib import Path

import pytest

from indexer import parsecache
from indexer.build import BuildOptions, build_index
from indexer.parse import parse_markdown
from indexer.parsecache import CACHE_FILE, ParseCache
from indexer.sources import read_entries

REPO = Path(__file__).resolve().parents[2]


def _md_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.md") if not p.name.startswith("_"))


def _reload(cache: ParseCache) -> ParseCache:
    cache.save()
    return ParseCache(cache.path)


def test_cached_parses_equal_fresh_ones_for_the_bundled_kb(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "kb_content", kb)
    files = _md_files(kb)
    cache = ParseCache(tmp_path / CACHE_FILE)
    assert [cache.parse(p) for p in files] == [parse_markdown(p) for p in files]
    again = _reload(cache)
    assert [again.parse(p) for p in files] == [parse_markdown(p) for p in files]
    assert again.hits == len(files) > 100


def test_same_size_edit_with_mtime_restored_is_parsed_again(kb_dir, tmp_path):
    path = kb_dir / "refund-arrival.md"
    cache = ParseCache(tmp_path / CACHE_FILE)
    cache.parse(path)
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    edited = text.replace("工作日", "自然日", 1)
    assert edited != text and len(edited.encode()) == len(text.encode())
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    again = _reload(cache)
    parsed = again.parse(path)
    assert again.hits == 0
    assert parsed.article is not None and "自然日" in parsed.article.body


def test_another_parser_drops_every_entry(kb_dir, tmp_path, monkeypatch):
    files = _md_files(kb_dir)
    cache = ParseCache(tmp_path / CACHE_FILE)
    for p in files:
        cache.parse(p)
    cache.save()
    monkeypatch.setattr(parsecache, "parser_fingerprint", lambda: "another parser")
    again = ParseCache(tmp_path / CACHE_FILE)
    assert [again.parse(p) for p in files] == [parse_markdown(p) for p in files]
    assert again.hits == 0


@pytest.mark.parametrize("damage", ["truncate", "garble_entry", "not_json"])
def test_damaged_cache_is_ignored(kb_dir, tmp_path, damage):
    files = _md_files(kb_dir)
    cache = ParseCache(tmp_path / CACHE_FILE)
    for p in files:
        cache.parse(p)
    cache.save()
    text = cache.path.read_text(encoding="utf-8")
    if damage == "truncate":
        cache.path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "garble_entry":
        lines = text.splitlines(keepends=True)
        key, sha, _ = lines[1].split("\t", 2)
        lines[1] = f"{key}\t{sha}\t[1, 2\n"
        cache.path.write_text("".join(lines), encoding="utf-8")
    else:
        cache.path.write_bytes(b"\x00\xff garbage")
    again = ParseCache(tmp_path / CACHE_FILE)
    assert [again.parse(p) for p in files] == [parse_markdown(p) for p in files]


def test_front_matter_without_a_json_form_is_parsed_every_time(tmp_path):
    path = tmp_path / "odd.md"
    path.write_text("---\nid: odd\ntags: !!set {a, b}\nupdated: 2026-01-01\n---\n正文\n", encoding="utf-8")
    cache = ParseCache(tmp_path / CACHE_FILE)
    first = cache.parse(path)
    again = _reload(cache)
    assert again.parse(path) == first == parse_markdown(path)
    assert again.hits == 0 and first.raw["tags"] == {"a", "b"}


def test_read_entries_with_a_cache_equals_without(kb_dir, tmp_path):
    cache = _reload(ParseCache(tmp_path / CACHE_FILE))
    read_entries(kb_dir, cache=cache)
    again = _reload(cache)
    assert read_entries(kb_dir, cache=again) == read_entries(kb_dir)
    assert again.hits == len(_md_files(kb_dir))


def test_build_sees_a_same_size_edit_with_mtime_restored(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    options = BuildOptions(chunk_size=120)
    build_index(kb_dir, root, fake_embedder, options)
    assert (root / CACHE_FILE).is_file()
    path = kb_dir / "refund-arrival.md"
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("工作日", "自然日", 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    fake_embedder.embedded.clear()
    result = build_index(kb_dir, root, fake_embedder, options)
    assert result.changed == ["refund-arrival"]
    assert any("自然日" in t for t in fake_embedder.embedded)


def test_unwritable_cache_warns_and_the_build_still_publishes(kb_dir, tmp_path, fake_embedder, caplog):
    root = tmp_path / "index"
    (root / CACHE_FILE).mkdir(parents=True)  # a folder where the file should be: os.replace fails
    result = build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    assert result.n_articles == 4
    assert "cannot write the parse cache" in caplog.text
