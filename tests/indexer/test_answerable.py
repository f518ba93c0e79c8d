import math
from dataclasses import replace

import numpy as np
import pytest

from indexer.answerable import FEATURES, AnswerModel, Signals, load_answer_models, measure_signals, save_answer_model
from indexer.build import BuildOptions, build_index
from indexer.fusion import FusionParams
from indexer.lexical import LexicalIndex
from indexer.search import Retriever
from indexer.versions import current_build

DOCS = [["refund", "bank", "card"], ["refund", "alipay"], ["password", "reset"], ["shipping", "fee"]]


@pytest.fixture
def lexical() -> LexicalIndex:
    return LexicalIndex.build(DOCS)


def _signals(**kw: float) -> Signals:
    values = dict.fromkeys(FEATURES, 0.0) | kw
    return Signals(**values)


def test_term_idf_is_lucene_idf_and_largest_for_unknown_terms(lexical):
    ids, idf = lexical.term_idf(["refund", "password", "weather"])
    assert ids[0] >= 0 and ids[1] >= 0 and ids[2] == -1
    assert idf[0] == pytest.approx(math.log(1 + (4 - 2 + 0.5) / 2.5))
    assert idf[1] == pytest.approx(math.log(1 + (4 - 1 + 0.5) / 1.5))
    assert idf[2] == pytest.approx(math.log(1 + 4.5 / 0.5))


def test_doc_terms_lists_the_terms_of_the_given_chunks(lexical):
    ids = dict(
        zip(
            ["refund", "bank", "card", "alipay", "fee"],
            lexical.term_idf(["refund", "bank", "card", "alipay", "fee"])[0].tolist(),
            strict=True,
        )
    )
    assert sorted(lexical.doc_terms(np.array([0], np.int64)).tolist()) == sorted(
        [ids["refund"], ids["bank"], ids["card"]]
    )
    assert sorted(lexical.doc_terms(np.array([3, 1], np.int64)).tolist()) == sorted(
        [ids["refund"], ids["alipay"], ids["fee"], int(lexical.term_idf(["shipping"])[0][0])]
    )
    assert len(lexical.doc_terms(np.zeros(0, np.int64))) == 0


def test_signals_weigh_covered_and_unknown_terms_by_idf(lexical):
    dense = np.array([0.2, 0.7, 0.5], np.float32)
    s = measure_signals(dense, np.array([0], np.int64), ["refund", "card", "weather"], lexical, top_lexical=1.0)
    _, idf = lexical.term_idf(["refund", "card", "weather"])
    assert s.top_dense == pytest.approx(0.7)
    assert s.gap2 == pytest.approx(0.2) and s.gap10 == pytest.approx(0.5)
    assert s.coverage == pytest.approx((idf[0] + idf[1]) / idf.sum())
    assert s.unknown == pytest.approx(idf[2] / idf.sum())
    assert s.lexical == pytest.approx(1.0 / idf.sum())
    assert s.log_terms == pytest.approx(math.log(4))


def test_signals_of_a_query_without_terms_or_hits_are_zero(lexical):
    s = measure_signals(np.zeros(0, np.float32), np.zeros(0, np.int64), [], lexical, top_lexical=0.0)
    assert s.vector() == (0.0,) * len(FEATURES)


def test_model_probability_is_the_logistic_of_the_weighted_sum():
    model = AnswerModel(("top_dense", "coverage"), {"en": (0.5, 2.0, 1.0)}, threshold=0.5)
    p = model.probability(_signals(top_dense=0.25, coverage=-1.0), "en")
    assert p == pytest.approx(1 / (1 + math.exp(-(0.5 + 0.5 - 1.0))))
    assert model.probability(_signals(top_dense=0.25, coverage=-1.0), "zh") == p  # falls back to English


def test_model_uses_the_weights_of_the_query_language():
    model = AnswerModel(("unknown",), {"en": (0.0, 1.0), "zh": (-1000.0, 1.0)}, threshold=0.5)
    assert model.probability(_signals(), "en") == 0.5
    assert model.probability(_signals(), "zh") == 0.0


def test_search_reports_signals_and_a_probability(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    res = Retriever.load(current_build(root), fake_embedder).search("退款多久到账", k=3)
    assert res.signals is not None and res.signals.coverage > 0.5
    assert 0.0 <= res.confidence <= 1.0
    assert Retriever.load(current_build(root), fake_embedder).search("退款", mode="lexical").signals is None


def test_threshold_override_decides_answerable(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    strict = Retriever.load(current_build(root), fake_embedder, fusion=FusionParams(answerable_threshold=1.0))
    lenient = Retriever.load(current_build(root), fake_embedder, fusion=FusionParams(answerable_threshold=0.0))
    assert not strict.search("退款多久到账").answerable
    assert lenient.search("退款多久到账").answerable


def test_dense_mode_measures_bm25_like_hybrid(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    retriever = Retriever.load(current_build(root), fake_embedder)
    dense, hybrid = retriever.search("退款多久到账", mode="dense"), retriever.search("退款多久到账")
    assert dense.signals is not None and hybrid.signals is not None
    assert dense.signals.lexical == pytest.approx(hybrid.signals.lexical) and dense.signals.lexical > 0


def test_each_backend_has_its_own_calibration_and_unknown_ones_fall_back(kb_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    build_index(kb_dir, root, fake_embedder, BuildOptions(chunk_size=120))
    retriever = Retriever.load(current_build(root), fake_embedder)
    models = load_answer_models()
    assert retriever.answer_model == models["ensemble"]  # the fake backend has no model of its own
    assert {"ensemble", "use-multilingual", "sentence-transformers"} <= set(models)
    retriever.manifest = replace(retriever.manifest, backend="sentence-transformers")
    assert retriever.answer_model == models["sentence-transformers"]
    assert retriever.answerable_threshold == models["sentence-transformers"].threshold


def test_saved_answer_model_reads_back_and_keeps_the_other_backends(tmp_path):
    path = tmp_path / "models.json"
    first = AnswerModel(("top_dense", "lexical"), {"en": (-3.5, 5.25, 4.0)}, 0.25)
    second = AnswerModel(("top_dense",), {"en": (-1.0, 2.0), "zh": (-2.0, 3.0)}, 0.3)
    save_answer_model("a", first, path)
    save_answer_model("b", second, path)
    save_answer_model("a", second, path)
    assert load_answer_models(path) == {"a": second, "b": second}


def test_unreadable_answer_model_file_names_the_file(tmp_path):
    path = tmp_path / "models.json"
    path.write_text('{"ensemble": {"features": ["top_dense"]}}', encoding="utf-8")
    with pytest.raises(ValueError, match="models.json"):
        load_answer_models(path)
