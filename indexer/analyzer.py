"""Lexical analysis for BM25: jieba words for Chinese, lower-cased words for English.

The same :class:`Analyzer` tokenises articles at build time and queries at search
time, with the content folder's ``_dictionary.txt`` (jieba user dictionary) and
``_synonyms.txt`` (one group per line, first term canonical) applied to both.
Chinese runs also yield character bigrams and unigrams, which catch typos, unseen
words and compounds that jieba segments differently in a query and in an article.
Measured (hybrid, 1,000 queries, seed 13, Chinese fusion weight 0.03): adding unigrams
to words + bigrams raised bq_intents from 0.562/0.371 to 0.580/0.380 (R@5/MRR@10) and
tianchi_covid_qq from 0.963/0.907 to 0.965/0.913; see eval/RESULTS.md.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import jieba
import Stemmer

log = logging.getLogger(__name__)

jieba.setLogLevel(logging.WARNING)

_CJK_RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD_RE = re.compile(r"[a-z0-9]+(?:[.'_-][a-z0-9]+)*")
_TOKEN_OK_RE = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
# Chinese function words carry no topic. English words are kept, stemmed (Snowball):
# dropping English stopwords cost clinc150 0.03 BM25 MRR@10 ("how", "what", "when"
# are intent cues), stemming added 0.01-0.05 on all three English sets.
ZH_STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 哦 嗯 是 在 我 你 他 她 它 我们 你们 这 那 就 都 也 还 和 与 及 或 有 被 把 给 让".split()
)


class Analyzer:
    """Turns text into BM25 terms.

    Args:
        dictionary: optional jieba user dictionary (``word [freq] [tag]`` per line).
        synonyms: optional synonym file; each line lists terms separated by spaces or
            commas, and every term is replaced by the first one.
        bigrams: also emit character bigrams and unigrams of Chinese runs.
    """

    def __init__(self, dictionary: Path | None = None, synonyms: Path | None = None, bigrams: bool = True) -> None:
        self._jieba = jieba.Tokenizer()
        self.bigrams = bigrams
        self.synonyms: dict[str, str] = {}
        digest = hashlib.sha256(f"bigrams={bigrams};unigrams=1;stem=english".encode())
        self._stem = Stemmer.Stemmer("english").stemWord
        if dictionary is not None and dictionary.is_file():
            data = dictionary.read_bytes()
            digest.update(data)
            with dictionary.open("rb") as fh:  # jieba leaves a path's file open; give it a handle
                self._jieba.load_userdict(fh)
        if synonyms is not None and synonyms.is_file():
            data = synonyms.read_bytes()
            digest.update(data)
            for line in data.decode("utf-8").splitlines():
                terms = [t.strip().lower() for t in re.split(r"[\s,，]+", line.split("#", 1)[0]) if t.strip()]
                for term in terms:
                    self.synonyms.setdefault(term, terms[0])
                    if _CJK_RUN_RE.search(term):
                        self._jieba.add_word(term)
        self.fingerprint = digest.hexdigest()[:16]

    @classmethod
    def for_content(cls, folder: Path, bigrams: bool = True) -> Analyzer:
        """The analyzer configured by a content folder's ``_dictionary.txt`` and ``_synonyms.txt``."""
        return cls(folder / "_dictionary.txt", folder / "_synonyms.txt", bigrams=bigrams)

    def words(self, text: str) -> list[str]:
        """jieba's segmentation of ``text`` with the content folder's dictionary (no HMM guesses)."""
        words: list[str] = self._jieba.lcut(text, HMM=False)
        return words

    def is_word(self, text: str) -> bool:
        """Whether ``text`` is a word of jieba's dictionary (with the content folder's additions)."""
        self._jieba.check_initialized()
        return bool(self._jieba.FREQ.get(text))

    def tokens(self, text: str) -> list[str]:
        """BM25 terms: words (synonyms mapped, English stemmed) plus Chinese character bigrams and unigrams."""
        text = text.lower()
        out: list[str] = []
        for word in self._jieba.lcut(text, HMM=True):
            word = word.strip()
            if not word or not _TOKEN_OK_RE.search(word):
                continue
            if _CJK_RUN_RE.fullmatch(word) is None:
                for w in _WORD_RE.findall(word):
                    term = self.synonyms.get(w, w)
                    out.append(term if _CJK_RUN_RE.search(term) else self._stem(term))
                continue
            if word in ZH_STOPWORDS:
                continue
            out.append(self.synonyms.get(word, word))
        if self.bigrams:
            for run in _CJK_RUN_RE.findall(text):
                out.extend("#" + run[i : i + 2] for i in range(len(run) - 1))
                out.extend("@" + ch for ch in run)
        return out
