import json
import multiprocessing
import os
import signal
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from indexer import build as build_mod
from indexer.build import BuildOptions, build_index
from indexer.crosslingual import card_text
from indexer.embed import EnsembleEmbedder
from indexer.errors import BuildError, BuildLocked
from indexer.filters import Filters
from indexer.fusion import FusionParams
from indexer.lexical import LexicalIndex
from indexer.search import Retriever
from indexer.versions import builds_dir, current_build, current_version, list_builds, rollback
from tests.conftest import FakeEmbedder


def _build(kb_dir, root, embedder, **kw):
    return build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120, **kw))


def test_first_build_publishes_published_articles_only(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    result = _build(kb_dir, root, fake_embedder)
    assert sorted(result.added) == ["en-order-cancel", "internal-soothing", "refund-arrival", "shipping-fee-refund"]
    manifest = json.loads((current_build(root) / "manifest.json").read_text())
    assert manifest["backend"] == "fake" and manifest["dimension"] == 64
    assert manifest["n_articles"] == 4 and manifest["faiss_index"] == "flat"
    assert set(manifest["article_hashes"]) == set(result.added)


def test_incremental_build_embeds_only_changed_articles(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    fake_embedder.embedded.clear()
    path = kb_dir / "shipping-fee-refund.md"
    path.write_text(path.read_text(encoding="utf-8") + "\n补充：港澳台地区不适用。\n", encoding="utf-8")
    (kb_dir / "en-order-cancel.md").unlink()
    result = _build(kb_dir, root, fake_embedder)
    assert result.changed == ["shipping-fee-refund"]
    assert result.removed == ["en-order-cancel"]
    assert sorted(result.unchanged) == ["internal-soothing", "refund-arrival"]
    assert fake_embedder.embedded and all(t.startswith("退货运费怎么退") for t in fake_embedder.embedded)
    retriever = Retriever.load(current_build(root), fake_embedder)
    assert "en-order-cancel" not in retriever.articles


def test_unchanged_rebuild_embeds_nothing_and_full_embeds_all(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    first = _build(kb_dir, root, fake_embedder)
    fake_embedder.embedded.clear()
    assert _build(kb_dir, root, fake_embedder).embedded_chunks == 0
    assert fake_embedder.embedded == []
    assert _build(kb_dir, root, fake_embedder, full=True).embedded_chunks == first.n_chunks


def test_bad_article_is_skipped_and_strict_fails(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    (kb_dir / "broken.md").write_text("---\nid: [oops\n---\nbody\n", encoding="utf-8")
    result = _build(kb_dir, root, fake_embedder)
    assert result.n_articles == 4 and any("broken.md" in p.path for p in result.problems)
    version = current_version(root)
    with pytest.raises(BuildError, match="--strict"):
        _build(kb_dir, root, fake_embedder, strict=True)
    assert current_version(root) == version


def test_failed_check_leaves_current_build_serving(kb_dir, tmp_path, fake_embedder, monkeypatch):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    version = current_version(root)

    def broken_check(*args, **kwargs):
        raise BuildError("smoke query failed")

    monkeypatch.setattr(build_mod, "_check_build", broken_check)
    with pytest.raises(BuildError):
        _build(kb_dir, root, fake_embedder, full=True)
    assert current_version(root) == version
    assert list_builds(root) == [version]


def _damaging(damage):
    """``write_build`` followed by ``damage(folder)``: a build written wrongly."""
    write_build = build_mod.write_build

    def write_then_damage(folder, *args):
        kind = write_build(folder, *args)
        damage(folder)
        return kind

    return write_then_damage


def _drop_file(folder):
    (folder / "chunks.jsonl").unlink()


def _drop_article(folder):
    lines = (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "articles.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")


def _rename_article(folder):
    lines = (folder / "articles.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = json.dumps({**json.loads(lines[0]), "id": "someone-else"}, ensure_ascii=False) + "\n"
    (folder / "articles.jsonl").write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_drop_file, "new build does not load"),
        (_drop_article, "new build is inconsistent: articles.jsonl not as written"),
        (_rename_article, "new build is inconsistent: articles.jsonl not as written"),
    ],
)
def test_check_refuses_a_damaged_build_and_publishes_nothing(
    kb_dir, tmp_path, fake_embedder, monkeypatch, damage, message
):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    version = current_version(root)
    monkeypatch.setattr(build_mod, "write_build", _damaging(damage))
    with pytest.raises(BuildError, match=message):
        _build(kb_dir, root, fake_embedder, full=True)
    assert current_version(root) == version
    assert list_builds(root) == [version]


def _slow_build(kb_dir: str, root: str) -> None:
    from tests.conftest import FakeEmbedder

    class Slow(FakeEmbedder):
        def embed_documents(self, texts):
            time.sleep(30)
            return super().embed_documents(texts)

    build_index(Path(kb_dir), Path(root), Slow(), BuildOptions(chunk_size=120, full=True))


def test_killed_build_leaves_current_untouched_and_lock_held_while_running(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    version = current_version(root)
    proc = multiprocessing.get_context("spawn").Process(target=_slow_build, args=(str(kb_dir), str(root)))
    proc.start()
    deadline = time.time() + 60
    while (root / ".lock").read_text().strip() != str(proc.pid):
        assert time.time() < deadline, "the running build never took the lock"
        time.sleep(0.05)
    with pytest.raises(BuildLocked, match=f"another `kbassist index` \\(pid {proc.pid}\\)"):
        _build(kb_dir, root, fake_embedder)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert current_version(root) == version
    retriever = Retriever.load(current_build(root), fake_embedder)
    assert retriever.search("退款", k=3, include_internal=True).hits
    # The next build cleans the killed build's leftovers and succeeds.
    _build(kb_dir, root, fake_embedder)
    assert not [p for p in builds_dir(root).iterdir() if p.name.startswith(".tmp-")]


def test_rollback_republishes_previous_build(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    first = current_version(root)
    (kb_dir / "en-order-cancel.md").unlink()
    _build(kb_dir, root, fake_embedder)
    assert current_version(root) != first
    assert rollback(root) == first
    assert "en-order-cancel" in Retriever.load(current_build(root), fake_embedder).articles


def test_keep_builds_prunes_old_versions(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    for _ in range(4):
        _build(kb_dir, root, fake_embedder, keep_builds=2)
    assert len(list_builds(root)) == 2
    assert current_version(root) == list_builds(root)[-1]


def test_search_modes_filters_and_internal(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    r = Retriever.load(current_build(root), fake_embedder)
    lexical = r.search("退钱多久到账", k=3, mode="lexical")
    assert lexical.hits[0].article_id == "refund-arrival"  # synonym 退钱 -> 退款
    assert "到账" in lexical.hits[0].snippet
    assert all(h.article_id != "internal-soothing" for h in r.search("安抚话术", k=10).hits)
    assert r.search("安抚话术", k=10, include_internal=True, mode="lexical").hits[0].article_id == "internal-soothing"
    only_orders = r.search("退款", k=5, filters=Filters.of(category=["orders"]))
    assert [h.article_id for h in only_orders.hits] == ["en-order-cancel"]
    assert len(r.search("退款", k=3, mode="hybrid").hits) == 3


def test_synonym_change_reuses_vectors_and_retokenises(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    _build(kb_dir, root, fake_embedder)
    raw = FusionParams(normalize_queries=False)  # else the pinyin "daozhang" is read as 到账 anyway
    r = Retriever.load(current_build(root), fake_embedder, fusion=raw)
    assert not r.search("daozhang", k=3, mode="lexical").hits
    with (kb_dir / "_synonyms.txt").open("a", encoding="utf-8") as fh:
        fh.write("到账 daozhang\n")
    fake_embedder.embedded.clear()
    result = _build(kb_dir, root, fake_embedder)
    assert result.embedded_chunks == 0 and fake_embedder.embedded == []
    r = Retriever.load(current_build(root), fake_embedder, fusion=raw)
    assert r.search("daozhang", k=3, mode="lexical").hits[0].article_id == "refund-arrival"


def test_build_with_no_valid_article_fails_cleanly(tmp_path, fake_embedder):
    export = tmp_path / "kb.jsonl"
    export.write_text('{"id": "bad id!", "title": "x", "body": "y", "lang": "zh"}\n', encoding="utf-8")
    with pytest.raises(BuildError, match="no valid published article"):
        build_index(export, tmp_path / "index", fake_embedder, BuildOptions())
    assert current_version(tmp_path / "index") is None


def test_title_only_export_rows_are_indexed(tmp_path, fake_embedder):
    export = tmp_path / "faq.jsonl"
    export.write_text(
        '{"id": "q1", "title": "借款还清后如何注销", "body": "", "lang": "zh"}\n'
        '{"id": "q2", "title": "", "body": "", "lang": "zh"}\n',
        encoding="utf-8",
    )
    result = build_index(export, tmp_path / "index", fake_embedder, BuildOptions())
    assert result.added == ["q1"]
    assert any("neither title nor body" in p.message for p in result.problems)


def test_index_root_and_builds_are_private(kb_dir, tmp_path, fake_embedder, open_umask):
    root = tmp_path / "fresh" / "index"
    _build(kb_dir, root, fake_embedder)
    modes = {p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}
    assert modes["."] == 0o700 and modes["builds"] == 0o700 and modes["CURRENT"] == 0o600
    assert {m for p, m in modes.items() if (root / p).is_dir()} == {0o700}
    assert {m for p, m in modes.items() if (root / p).is_file()} == {0o600}
    assert any(p.endswith("dense.faiss") for p in modes) and any(p.startswith("builds/") for p in modes)


def _export(path: Path, records: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _records(n: int) -> list[dict[str, str]]:
    zh = [
        "退款审核通过后原路退回",
        "银行卡一般一到七个工作日到账",
        "质量问题退货运费由我们承担",
        "会员积分可以抵扣现金",
    ]
    en = ["refunds return to the original card", "points can be redeemed at checkout", "invoices come in three days"]
    out = []
    for i in range(n):
        pool = zh if i % 3 else en
        body = "。".join(pool[(i + j) % len(pool)] for j in range(2 + i % 4)) + f" {i}"
        out.append(
            {"id": f"a{i}", "title": f"{pool[i % len(pool)]} {i}", "body": body, "lang": "en" if pool is en else "zh"}
        )
    return out


def _same_build(a: Path, b: Path) -> None:
    """Two builds hold the same chunks, vectors, BM25 index and term ids, file by file."""
    for name in ("articles.jsonl", "chunks.jsonl", "bm25/vocab.index.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    for name in ("vectors.npy", *(f"bm25/{f}" for f in ("data.csc.index.npy", "indices.csc.index.npy"))):
        np.testing.assert_array_equal(np.load(a / name), np.load(b / name), err_msg=name)
    for name in ("bm25/indptr.csc.index.npy", "bm25/term_ids.npy", "bm25/term_counts.npy", "bm25/term_offsets.npy"):
        np.testing.assert_array_equal(np.load(a / name), np.load(b / name), err_msg=name)


@pytest.mark.parametrize("exact_max", [100_000, 8])
def test_incremental_build_equals_a_full_build(tmp_path, fake_embedder, exact_max):
    records = _records(40)
    export = tmp_path / "kb.jsonl"
    _export(export, records)
    options = BuildOptions(chunk_size=40, exact_max=exact_max)
    build_index(export, tmp_path / "incremental", fake_embedder, options)
    records[5]["body"] += "。新增一句说明"  # changed
    records[17]["title"] = "a new title"  # changed
    del records[30]  # removed
    records.insert(3, {"id": "new", "title": "全新的文章", "body": "退款到账的新规则。", "lang": "zh"})  # added
    records[20], records[21] = records[21], records[20]  # reordered
    _export(export, records)
    fake_embedder.embedded.clear()
    again = build_index(export, tmp_path / "incremental", fake_embedder, options)
    assert sorted(again.changed) == ["a17", "a5"] and again.added == ["new"] and again.removed == ["a30"]
    assert 0 < again.embedded_chunks == len(fake_embedder.embedded) < again.n_chunks
    build_index(export, tmp_path / "full", fake_embedder, BuildOptions(chunk_size=40, exact_max=exact_max, full=True))
    incremental, full = current_build(tmp_path / "incremental"), current_build(tmp_path / "full")
    _same_build(incremental, full)
    a, b = Retriever.load(incremental, fake_embedder), Retriever.load(full, fake_embedder)
    assert a.dense.__class__ is b.dense.__class__ and a.manifest.faiss_index == ("hnsw" if exact_max == 8 else "flat")
    for query in ("退款多久到账", "refund to my card", "积分", "invoice 3"):
        np.testing.assert_array_equal(
            a.lexical.scores(a.analyzer.tokens(query)), b.lexical.scores(b.analyzer.tokens(query))
        )
        for mode in ("hybrid", "dense", "lexical"):
            ra, rb = a.search(query, k=5, mode=mode), b.search(query, k=5, mode=mode)
            assert [(h.article_id, h.score, h.snippet) for h in ra.hits] == [
                (h.article_id, h.score, h.snippet) for h in rb.hits
            ]


def _as_format_1(build: Path) -> None:
    """Rewrite a build as format 1 wrote it: terms as strings in chunks.jsonl, no term ids."""
    terms = LexicalIndex.read_terms(build / "bm25")
    lines = (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    with (build / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for i, line in enumerate(lines):
            tokens = [t for t, c in terms.counter(i).items() for _ in range(c)]
            fh.write(json.dumps({**json.loads(line), "tokens": tokens}, ensure_ascii=False) + "\n")
    for name in ("term_ids.npy", "term_counts.npy", "term_offsets.npy"):
        (build / "bm25" / name).unlink()
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    (build / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}), encoding="utf-8")


def test_format_1_build_still_loads_and_a_rebuild_reuses_it(tmp_path, fake_embedder, caplog):
    records = _records(12)
    export = tmp_path / "kb.jsonl"
    _export(export, records)
    options = BuildOptions(chunk_size=40)
    build_index(export, tmp_path / "index", fake_embedder, options)
    old = current_build(tmp_path / "index")
    _as_format_1(old)
    assert Retriever.load(old, fake_embedder).search("退款", k=3).hits
    records[4]["body"] += "。新增一句说明"
    _export(export, records)
    fake_embedder.embedded.clear()
    with caplog.at_level("INFO", logger="indexer.layout"):
        again = build_index(export, tmp_path / "index", fake_embedder, options)
    assert "predates stored term ids" in caplog.text
    assert again.changed == ["a4"] and 0 < again.embedded_chunks == len(fake_embedder.embedded) < again.n_chunks
    build_index(export, tmp_path / "full", fake_embedder, BuildOptions(chunk_size=40, full=True))
    _same_build(current_build(tmp_path / "index"), current_build(tmp_path / "full"))


class _Recording(FakeEmbedder):
    """Also records the queries it embeds (the calibration titles)."""

    def __init__(self) -> None:
        super().__init__()
        self.queried: list[str] = []

    def embed_queries(self, texts):
        self.queried.extend(texts)
        return super().embed_queries(texts)


def _bilingual(n: int) -> list[dict]:
    """``_records`` with tags on some: enough of each language for cards, and English titles for calibration."""
    records = _records(n)
    for r in records[:6]:
        r["tags"] = ["退款"]
    return records


def test_rebuild_embeds_only_the_cards_and_titles_it_has_not_embedded_before(tmp_path):
    use, st = _Recording(), _Recording()
    embedder = EnsembleEmbedder(use, st)
    records = _bilingual(90)
    export = tmp_path / "kb.jsonl"
    _export(export, records)
    options = BuildOptions(chunk_size=40)
    build_index(export, tmp_path / "incremental", embedder, options)
    first = current_build(tmp_path / "incremental")
    assert {"cards.npy", "cards.keys", "titles.npy", "titles.keys"} <= {p.name for p in first.iterdir()}
    records[5]["body"] += "。新增一句说明"  # its card is unchanged
    records[1]["tags"] = ["退款", "到账"]  # its card changed, its content hash did not
    records[3]["title"] = "a new title 3"  # an English title: card and calibration query changed
    _export(export, records)
    use.embedded.clear(), use.queried.clear(), st.queried.clear()
    build_index(export, tmp_path / "incremental", embedder, options)
    all_cards = {card_text(r) for r in records}
    assert [t for t in use.embedded if t in all_cards] == [card_text(records[1]), card_text(records[3])]
    smoke = records[0]["title"]  # the check's smoke query
    assert set(use.queried) - {smoke} == {"a new title 3"} and use.queried == st.queried

    full_embedder = EnsembleEmbedder(_Recording(), _Recording())
    build_index(export, tmp_path / "full", full_embedder, BuildOptions(chunk_size=40, full=True))
    incremental, full = current_build(tmp_path / "incremental"), current_build(tmp_path / "full")
    for name in ("cards.npy", "titles.npy"):
        np.testing.assert_array_equal(np.load(incremental / name), np.load(full / name), err_msg=name)
    for name in ("cards.keys", "titles.keys"):
        assert (incremental / name).read_text() == (full / name).read_text()
    weight = [json.loads((b / "manifest.json").read_text())["ensemble_use_weight"] for b in (incremental, full)]
    assert weight[0] == weight[1] is not None


def test_rebuild_embeds_every_card_again_when_the_stored_keys_are_unusable(tmp_path):
    use = _Recording()
    embedder = EnsembleEmbedder(use, _Recording())
    export = tmp_path / "kb.jsonl"
    records = _bilingual(90)
    _export(export, records)
    build_index(export, tmp_path / "index", embedder, BuildOptions(chunk_size=40))
    keys = current_build(tmp_path / "index") / "cards.keys"
    keys.write_text(keys.read_text().split("\n", 1)[1])  # one key short of the vectors
    use.embedded.clear()
    build_index(export, tmp_path / "index", embedder, BuildOptions(chunk_size=40))
    all_cards = {card_text(r) for r in records}
    assert sorted(t for t in use.embedded if t in all_cards) == sorted(all_cards)
