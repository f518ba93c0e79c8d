"""Lexical analysis for BM25: jieba words for Chinese, lower-cased words for English.

The same :class:`Analyzer` tokenises articles at build time and queries at search
time, with the content folder's ``_dictionary.txt`` (jieba user dictionary) and
``_synonyms.txt`` (one group per line, first term canonical) applied to both.
Chinese runs also yield character bigrams (``#`` + two characters) and unigrams
(``@`` + one character), which catch typos, unseen words and compounds that jieba
segments differently in a query and in an article; the unigrams help the short
Chinese sets most (``kbassist eval --dataset DIR --modes hybrid``, eval/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import jieba
import Stemmer

from indexer.lang import CJK_CHARS
from indexer.prefixdict import LazyPrefixDict

log = logging.getLogger(__name__)

jieba.setLogLevel(logging.WARNING)

DICTIONARY = "_dictionary.txt"
SYNONYMS = "_synonyms.txt"
# The files of a content folder that configure the analyzer (a build keeps a copy).
ANALYZER_FILES = (DICTIONARY, SYNONYMS)
BIGRAM = "#"
UNIGRAM = "@"

_CJK_RUN_RE = re.compile(f"[{CJK_CHARS}]+")
# Chinese BM25 terms: jieba words and unigram-marked single characters.
_CJK_TERM_RE = re.compile(f"{UNIGRAM}?[{CJK_CHARS}]+")
_WORD_RE = re.compile(r"[a-z0-9]+(?:[.'_-][a-z0-9]+)*")
_TOKEN_OK_RE = re.compile(f"[\\w{CJK_CHARS}]")
# Chinese function words carry no topic. English words are kept, stemmed (Snowball):
# English stopwords such as "how", "what" and "when" are intent cues in FAQ queries,
# and stemming helps every English set (measure with ``kbassist eval --modes lexical``).
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
        # jieba's dictionary is read a first character at a time (indexer.prefixdict): a publish
        # that tokenises one article need not load all of it. Every text jieba sees goes through
        # self._dict.ensure first.
        self._dict = LazyPrefixDict()
        self._dict.attach(self._jieba)
        self.bigrams = bigrams
        self.synonyms: dict[str, str] = {}
        digest = hashlib.sha256(f"bigrams={bigrams};unigrams=1;stem=english".encode())
        self._stem = Stemmer.Stemmer("english").stemWord
        if dictionary is not None and dictionary.is_file():
            data = dictionary.read_bytes()
            digest.update(data)
            self._dict.ensure(data.decode("utf-8", errors="ignore"))
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
                        self._dict.ensure(term)
                        self._jieba.add_word(term)
        self.fingerprint = digest.hexdigest()[:16]

    @classmethod
    def for_content(cls, folder: Path, bigrams: bool = True) -> Analyzer:
        """The analyzer configured by a content folder's ``_dictionary.txt`` and ``_synonyms.txt``."""
        return cls(folder / DICTIONARY, folder / SYNONYMS, bigrams=bigrams)

    def words(self, text: str) -> list[str]:
        """jieba's segmentation of ``text`` with the content folder's dictionary (no HMM guesses)."""
        self._dict.ensure(text)
        words: list[str] = self._jieba.lcut(text, HMM=False)
        return words

    def is_word(self, text: str) -> bool:
        """Whether ``text`` is a word of jieba's dictionary (with the content folder's additions)."""
        self._dict.ensure(text[:1])
        return bool(self._jieba.FREQ.get(text))

    def tokens(self, text: str) -> list[str]:
        """BM25 terms: words (synonyms mapped, English stemmed) plus Chinese character bigrams and unigrams."""
        text = text.lower()
        self._dict.ensure(text)
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
                out.extend(BIGRAM + run[i : i + 2] for i in range(len(run) - 1))
                out.extend(UNIGRAM + ch for ch in run)
        return out


def shown_terms(terms: list[str]) -> list[str]:
    """The terms worth showing a reader (for highlighting): words and bigrams, without the markers."""
    return [t.lstrip(BIGRAM) for t in terms if not t.startswith(UNIGRAM)]


def chinese_vocabulary(vocabulary: dict[str, int]) -> dict[str, int]:
    """Chinese words and characters of a BM25 vocabulary (term -> document frequency).

    A character is both a word and a unigram term: the larger of its two counts is kept.
    """
    chinese: dict[str, int] = {}
    for term, df in vocabulary.items():
        if _CJK_TERM_RE.fullmatch(term):
            word = term.lstrip(UNIGRAM)
            chinese[word] = max(df, chinese.get(word, 0))
    return chinese
