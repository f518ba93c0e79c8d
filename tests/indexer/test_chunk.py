from indexer.article import Article
from indexer.chunk import chunk_article, embed_text, split_sentences


def test_split_sentences_chinese_and_english():
    text = "第一句。第二句！第三句？第四句；Last one. Really!"
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["第一句。", "第二句！", "第三句？", "第四句；", "Last one.", "Really!"]


def test_chunks_respect_headings_offsets_and_size():
    body = "# 标题\n\n" + "退款审核通过后原路退回。" * 10 + "\n\n## 银行卡\n\n银行卡 1–7 个工作日到账。\n"
    art = Article(id="a", title="标题", body=body)
    chunks = chunk_article(art, size=50)
    assert all(len(c.text) <= 50 for c in chunks)
    assert all(body[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].heading_path == ()
    assert chunks[-1].heading_path == ("银行卡",)
    assert chunks[-1].text == "银行卡 1–7 个工作日到账。"
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_english_chunking_splits_on_sentence_ends():
    body = "First sentence here. Second sentence is longer than the first one. Third.\n"
    chunks = chunk_article(Article(id="e", title="T", body=body, lang="en"), size=50)
    assert [c.text for c in chunks] == [
        "First sentence here.",
        "Second sentence is longer than the first one.",
        "Third.",
    ]


def test_long_sentence_is_cut_hard():
    art = Article(id="l", title="T", body="字" * 130)
    assert [len(c.text) for c in chunk_article(art, size=50)] == [50, 50, 30]


def test_title_goes_into_embedded_text():
    art = Article(id="a", title="退款多久到账", body="## 银行卡\n\n1–7 个工作日。\n")
    chunk = chunk_article(art, 100)[0]
    assert embed_text(art.title, chunk) == "退款多久到账 / 银行卡\n1–7 个工作日。"
