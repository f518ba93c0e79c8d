"""jieba's dictionary read a first character at a time segments exactly as the whole dictionary does."""

import indexer.analyzer as analyzer_mod
from indexer.analyzer import Analyzer

TEXTS = [
    "退款审核通过后原路退回，银行卡一般一到七个工作日到账",
    "我的T恤洗了以后缩水了怎么办？AT&T的卡能用吗",
    "会员积分可以在下单时抵扣现金吗 points at checkout",
    "话术：先共情再解决，超出权限时升级到组长",
    "乱码ｘｙｚ１２３ 和 emoji 🙂 以及 繁體中文的句子",
]


class _WholeDictionary:
    """Stands in for LazyPrefixDict: jieba then loads its whole dictionary as it always did."""

    def attach(self, tokenizer: object) -> None:
        pass

    def ensure(self, text: str) -> None:
        pass


def _whole(kb_dir, monkeypatch) -> Analyzer:
    """The content's analyzer with jieba's whole dictionary loaded."""
    with monkeypatch.context() as patch:
        patch.setattr(analyzer_mod, "LazyPrefixDict", _WholeDictionary)
        analyzer = Analyzer.for_content(kb_dir)
    assert not isinstance(analyzer._dict, analyzer_mod.LazyPrefixDict)
    return analyzer


def test_lazy_dictionary_gives_the_tokens_and_words_of_the_whole_one(kb_dir, monkeypatch):
    lazy, whole = Analyzer.for_content(kb_dir), _whole(kb_dir, monkeypatch)
    assert isinstance(lazy._dict, analyzer_mod.LazyPrefixDict)
    texts = TEXTS + [p.read_text(encoding="utf-8") for p in sorted(kb_dir.rglob("*.md"))]
    for text in texts:
        assert lazy.tokens(text) == whole.tokens(text)
        assert lazy.words(text) == whole.words(text)
    for word in ("退款", "到账", "话术", "T恤", "不存在的词语"):
        assert lazy.is_word(word) == whole.is_word(word)
    assert lazy.fingerprint == whole.fingerprint


def test_user_words_and_synonyms_apply_with_the_lazy_dictionary(kb_dir, monkeypatch):
    (kb_dir / "_dictionary.txt").write_text("原路退回 50\n七个工作日\n", encoding="utf-8")
    (kb_dir / "_synonyms.txt").write_text("到账 入账 daozhang\n", encoding="utf-8")
    lazy, eager = Analyzer.for_content(kb_dir), _whole(kb_dir, monkeypatch)
    text = "退款原路退回，七个工作日入账"
    assert "原路退回" in lazy.words(text) and "到账" in lazy.tokens(text)
    assert lazy.tokens(text) == eager.tokens(text) and lazy.words(text) == eager.words(text)
