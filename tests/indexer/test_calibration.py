"""The per-KB USE weight: each English title, as a query, should stand out on its own article."""

import json

import numpy as np

from indexer.build import BuildOptions, build_index
from indexer.calibration import MIN_TITLES, WEIGHTS, calibrated_use_weight
from indexer.embed import EnsembleEmbedder
from indexer.fusion import FusionParams
from indexer.search import Retriever
from indexer.versions import current_build
from tests.conftest import FakeEmbedder
from tests.eval.test_holdout import FakeEnsemble

DIM = 16


class _Lookup:
    """A one-model stand-in: each title embeds to a fixed unit vector."""

    def __init__(self, table, dim=DIM):
        self.table, self.dim, self.model = table, dim, "lookup"

    def embed_queries(self, texts):
        return np.array([self.table[t] for t in texts], np.float32)


def _unit(rng, n):
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _kb(informative, n=MIN_TITLES + 2, seed=0):
    """Articles whose vectors match their titles in the ``informative`` model and are noise in the other."""
    rng = np.random.default_rng(seed)
    titles = [f"title {i}" for i in range(n)]
    own, noise = _unit(rng, n), _unit(rng, n)
    # Each article: two chunks, the first near its title in the informative model.
    good = np.repeat(own + 0.1 * _unit(rng, n), 2, axis=0)
    bad = np.repeat(noise, 2, axis=0)
    use_part, st_part = (good, bad) if informative == "use" else (bad, good)
    vectors = np.hstack([use_part, st_part]).astype(np.float32)
    use = _Lookup({t: own[i] if informative == "use" else _unit(rng, 1)[0] for i, t in enumerate(titles)})
    st = _Lookup({t: own[i] if informative == "st" else _unit(rng, 1)[0] for i, t in enumerate(titles)})
    articles = [{"title": t, "lang": "en"} for t in titles]
    return EnsembleEmbedder(use, st), articles, np.repeat(np.arange(n), 2), vectors


def test_weight_is_low_when_only_the_english_model_finds_the_titles():
    # Noise can add a little margin by chance: low, not necessarily zero.
    for seed in range(3):
        assert calibrated_use_weight(*_kb("st", seed=seed)) <= 0.2


def test_weight_is_high_when_only_use_finds_the_titles():
    for seed in range(3):
        assert calibrated_use_weight(*_kb("use", seed=seed)) >= 1.0


def test_no_weight_without_enough_english_titles_or_without_an_ensemble(fake_embedder):
    embedder, articles, chunk_article, vectors = _kb("st")
    chinese = [{**a, "lang": "zh"} for a in articles]
    assert calibrated_use_weight(embedder, chinese, chunk_article, vectors) is None
    few = MIN_TITLES - 1
    assert calibrated_use_weight(embedder, articles[:few], chunk_article[: 2 * few], vectors[: 2 * few]) is None
    assert calibrated_use_weight(fake_embedder, articles, chunk_article, vectors) is None


def test_retriever_scales_the_build_s_calibrated_weight_unless_the_rule_is_fixed(kb_dir, tmp_path):
    root = tmp_path / "index"
    embedder = FakeEnsemble()
    build_index(kb_dir, root, embedder, BuildOptions(chunk_size=120))
    folder = current_build(root)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["ensemble_use_weight"] = 0.8
    (folder / "manifest.json").write_text(json.dumps(manifest))
    calibrated = Retriever.load(folder, embedder, fusion=FusionParams(calibrated_use_scale=0.5))
    assert calibrated.dense.use_weight == 0.4
    fixed = Retriever.load(folder, embedder, fusion=FusionParams(use_weight_rule="fixed"))
    assert fixed.dense.use_weight == 0.35


def test_build_stores_the_kb_s_own_weight_in_the_manifest(tmp_path):
    source = tmp_path / "articles.jsonl"
    topics = ["refund", "delivery", "invoice", "warranty", "coupon", "password", "address", "payment", "repair"]
    topics += ["membership", "exchange", "review"]
    with source.open("w", encoding="utf-8") as out:
        for i, topic in enumerate(topics):
            article = {"id": f"a{i}", "title": f"How {topic} works", "body": f"All about {topic} here.", "lang": "en"}
            out.write(json.dumps(article) + "\n")
    root = tmp_path / "index"
    build_index(source, root, EnsembleEmbedder(FakeEmbedder(), FakeEmbedder()), BuildOptions(chunk_size=120))
    manifest = json.loads((current_build(root) / "manifest.json").read_text())
    assert manifest["ensemble_use_weight"] in WEIGHTS
