"""Query normalisation: what a customer typed, rewritten into the knowledge base's own words.

Customers type pinyin (``tk多久到``, ``huabei tuikuan``), pinyin-IME homophones (``维秀进度``
for 维修进度) and misspelt English (``refnud status chek``). The embedders read none of these
well, BM25 matches none of them, and the answer probability then flags answerable questions.
:class:`QueryNormalizer` maps each such token to the KB word it stands for, chosen from the
build's own vocabulary (ties go to the word found in most chunks):

- **Pinyin**: a lower-case Latin token that is no English word (neither in the KB's text nor
  in SymSpell's 82,765-word English dictionary) and splits into the pinyin of KB words, whole
  syllables (``tuikuan`` → 退款) or initials (``tk`` → 退款, ``qxdd`` → 取消订单), fewest pieces
  first. A message without Chinese characters is read as pinyin only when all of its words
  split that way and at most half are English words (``tk jindu zenme cha``).
  Editors' synonyms (``_synonyms.txt``: ``退款 … tk``) take precedence over guesses.
- **Homophones**: whole jieba tokens of 2–4 characters, at least one a single character or an
  unknown word, that together are no word, keep at least one character of a KB word in place,
  read exactly as it in toneless pinyin, and where every replaced character is at least
  ``_RARER`` times rarer in the KB than its replacement (维秀 → 维修, 清关演误 → 清关延误; 才用
  stays, 采用 being the commoner KB word but 才 the commoner character).
- **English spelling**: a word of 4+ letters in neither vocabulary, nor the plural or singular of a
  word in them (``smartwatch``, ``installments``), corrected to the closest KB word within one
  edit (two from eight letters on) by SymSpell.

What it buys on the golden set's pinyin and typo queries is measured by ``kbassist eval
breakdown`` with ``KB_NORMALIZE_QUERIES`` on and off (eval/RESULTS.md); the tables are built
on first use, and the service's second call for a query hits a cache.

One module past the ~300-line guide: the three rewrites share the vocabulary tables built
here and are tried in one pass over the message.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray
from pypinyin import lazy_pinyin
from symspellpy import SymSpell, Verbosity

from indexer.lang import CJK_CHARS

_CJK = CJK_CHARS
_CJK_WORD_RE = re.compile(f"[{_CJK}]+")
_CJK_RUN_RE = re.compile(f"[{_CJK}]{{2,}}")
_LATIN_RE = re.compile(r"[A-Za-z]+")
_ENGLISH_WORD_RE = re.compile(r"[a-z]+")
# Spaces left between two Chinese words once their pinyin has been replaced.
_CJK_GAP_RE = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")
_MAX_WORD = 4  # characters of a KB word that pinyin or a homophone may stand for
# A Latin token followed by these (or preceded by the same but digits: 7tian) is part of an
# e-mail address, a URL or an order number.
_GLUE_AFTER = frozenset("@._/-:0123456789")
_GLUE_BEFORE = frozenset("@._/-:")
# A homophone fix replaces a character only with one this many times as frequent in the KB:
# the customer mistyped a rare character for a common KB word, not the reverse (才用 stays).
_RARER = 4
# A KB word outside jieba's dictionary stands in only if this many chunks have it (话术 does).
_ODD_PIECE_DF = 5
_LONG_WORD = 8  # letters from which a misspelling may be two edits away (short words: one edit, fewer false fixes)
_CANDIDATES = 4  # words kept per pinyin spelling for the context to choose from


def _number_forms(word: str) -> list[str]:
    """The plural and singular spellings ``word`` may be an inflection of."""
    forms = [word + "es" if word.endswith(("s", "x", "z", "ch", "sh")) else word + "s"]
    if word.endswith("s"):
        forms.append(word[:-1])
    if word.endswith("es"):
        forms.append(word[:-2])
    return forms


@cache
def english_words() -> frozenset[str]:
    """SymSpell's English frequency dictionary (82,765 words), as a set."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


@dataclass(frozen=True, slots=True)
class _Entry:
    word: str
    weight: float  # ln(1 + chunks containing the word)


def _add(table: dict[str, list[_Entry]], key: str, entry: _Entry) -> None:
    table.setdefault(key, []).append(entry)


def _ranked(table: dict[str, list[_Entry]], keep: int) -> dict[str, list[_Entry]]:
    """Each key's entries, most frequent first, the first ``keep`` of them."""
    return {k: sorted(v, key=lambda e: -e.weight)[:keep] for k, v in table.items()}


class QueryNormalizer:
    """Rewrites pinyin, homophone typos and misspelt English into KB words (see the module docstring).

    Args:
        chinese: Chinese KB terms (jieba words and single characters) with the number of chunks
            each occurs in.
        english: English KB words with their number of occurrences.
        synonyms: the analyzer's synonym map (term -> canonical term).
        segment: jieba segmentation with the KB's dictionary (``Analyzer.words``).
        is_word: whether a string is in that dictionary (``Analyzer.is_word``).
        postings: the chunks a KB term occurs in (``LexicalIndex.postings``); with it, an
            ambiguous abbreviation becomes the candidate sharing most chunks with the rest of the
            message (``sj huanji shuju`` → 手机, not the commoner 时间), else the commonest.
    """

    def __init__(
        self,
        chinese: Mapping[str, int],
        english: Mapping[str, int],
        synonyms: Mapping[str, str],
        segment: Callable[[str], list[str]],
        is_word: Callable[[str], bool],
        postings: Callable[[str], NDArray[np.int64]] | None = None,
    ) -> None:
        self._chinese = dict(chinese)
        self._readings: dict[str, str] = {}
        self._dictionary_word = is_word
        self._postings = postings
        self._english_kb = frozenset(english)
        self._segment = segment
        syllables: dict[str, list[_Entry]] = {}  # whole toneless pinyin -> words
        initials: dict[str, list[_Entry]] = {}  # first letters -> words (2+ characters)
        sounds_of: dict[str, list[_Entry]] = {}  # syllables with separators, for homophones
        for word, df in chinese.items():
            # jieba also cuts odd pieces out of KB text (钱会, 地只): rare non-dictionary words never stand in
            if not 1 <= len(word) <= _MAX_WORD or (len(word) > 1 and df < _ODD_PIECE_DF and not is_word(word)):
                continue
            sounds = lazy_pinyin(word, errors="ignore")
            if len(sounds) != len(word):
                continue
            entry = _Entry(word, math.log1p(df))
            if len(word) > 1 or len(sounds[0]) > 1:
                _add(syllables, "".join(sounds), entry)
            if len(word) > 1:
                _add(initials, "".join(s[0] for s in sounds), entry)
                _add(sounds_of, " ".join(self._reading(ch) for ch in word), entry)
        self._sounds = {k: v[0] for k, v in _ranked(sounds_of, 1).items()}
        # Candidates per Latin spelling: editors' synonyms, else whole syllables, else initials.
        self._pieces = {**_ranked(initials, _CANDIDATES), **_ranked(syllables, _CANDIDATES)}
        for term, canonical in synonyms.items():
            if _LATIN_RE.fullmatch(term) and _CJK_WORD_RE.fullmatch(canonical):
                self._pieces[term] = [_Entry(canonical, math.log1p(chinese.get(canonical, 0)))]
        self._speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in english.items():
            if len(word) >= 3:
                self._speller.create_dictionary_entry(word, count)
        # The service normalises a query twice (batched embedding, then search): remember recent ones.
        self._cached = lru_cache(maxsize=4096)(self._rewrite)

    @classmethod
    def from_texts(
        cls,
        chinese: Mapping[str, int],
        texts: Iterable[str],
        synonyms: Mapping[str, str],
        segment: Callable[[str], list[str]],
        is_word: Callable[[str], bool],
        postings: Callable[[str], NDArray[np.int64]] | None = None,
    ) -> QueryNormalizer:
        """A normaliser over Chinese terms with chunk counts and the English words of ``texts``."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_ENGLISH_WORD_RE.findall(text.lower()))
        return cls(chinese, counts, synonyms, segment, is_word, postings)

    def normalize(self, text: str) -> str:
        """``text`` with pinyin, homophone typos and misspelt English replaced by KB words (or unchanged)."""
        return self._cached(text)

    def _rewrite(self, text: str) -> str:
        has_cjk = _CJK_WORD_RE.search(text) is not None
        latin = [
            (m.start(), m.end(), m.group())
            for m in _LATIN_RE.finditer(text)
            if text[m.end() : m.end() + 1] not in _GLUE_AFTER
            and text[max(m.start() - 1, 0) : m.start()] not in _GLUE_BEFORE
        ]
        if has_cjk:  # upper case marks an acronym (VAT, FCR); English words stay English
            keys = [None if tok != tok.lower() or self._is_english(tok) else self._pinyin(tok) for _, _, tok in latin]
        else:
            keys = [self._pinyin(tok.lower()) for _, _, tok in latin]
            if not self._reads_as_pinyin([tok for _, _, tok in latin], keys):
                keys = [None] * len(latin)
        split = self._choose(text, keys)
        out: list[str] = []
        last = 0
        for (start, end, tok), word in zip(latin, split, strict=True):
            if word is None and not (has_cjk and tok.lower() != tok):
                word = self._spelling(tok)
            if word is not None:
                out.append(self._homophones(text[last:start]))
                out.append(word)
                last = end
        out.append(self._homophones(text[last:]))
        rewritten = "".join(out)
        return _CJK_GAP_RE.sub("", rewritten) if rewritten != text else text

    def _is_english(self, token: str) -> bool:
        low = token.lower()
        return low in self._english_kb or low in english_words()

    def _reads_as_pinyin(self, tokens: list[str], split: list[list[str] | None]) -> bool:
        """A message without Chinese characters is pinyin when every word splits and most are not English."""
        if not tokens or any(v is None for v in split):
            return False
        english = sum(t.lower() in self._english_kb or (len(t) > 2 and t.lower() in english_words()) for t in tokens)
        return 2 * english <= len(tokens) and english < len(tokens)

    def _pinyin(self, token: str) -> list[str] | None:
        """How a lower-case Latin token splits into pinyin of KB words (fewest pieces, then most frequent)."""
        if len(token) < 2:
            return None
        n = len(token)
        # best[i]: (pieces, -weight, Latin pieces) of the best split of token[:i]
        best: list[tuple[int, float, tuple[str, ...]] | None] = [None] * (n + 1)
        best[0] = (0, 0.0, ())
        for i in range(2, n + 1):
            for j in range(max(0, i - 6 * _MAX_WORD), i - 1):
                prev = best[j]
                entries = self._pieces.get(token[j:i]) if prev is not None else None
                if prev is None or entries is None:
                    continue
                cand = (prev[0] + 1, prev[1] - entries[0].weight, (*prev[2], token[j:i]))
                cur = best[i]
                if cur is None or cand[:2] < cur[:2]:
                    best[i] = cand
        found = best[n]
        return list(found[2]) if found is not None else None

    def _choose(self, text: str, keys: list[list[str] | None]) -> list[str | None]:
        """The Chinese words of each split token: by context where a piece is ambiguous (see ``postings``)."""
        if not any(keys):
            return [None] * len(keys)
        # The message's other words: unambiguous pieces and the Chinese words typed as such.
        known = [self._pieces[k][0].word for ks in keys if ks for k in ks if len(self._pieces[k]) == 1]
        context: NDArray[np.int64] | None = None
        if self._postings is not None and any(len(self._pieces[k]) > 1 for ks in keys if ks for k in ks):
            known += [w for run in _CJK_WORD_RE.findall(text) for w in self._segment(run) if len(w) > 1]
            lists = [self._postings(w) for w in known if w in self._chinese]
            context = np.unique(np.concatenate(lists)) if lists else None
        return [None if ks is None else "".join(self._pick(self._pieces[k], context, known) for k in ks) for ks in keys]

    def _pick(self, entries: list[_Entry], context: NDArray[np.int64] | None, taken: list[str]) -> str:
        """The entry sharing most chunks with ``context`` (ties and no context: the commonest)."""
        if len(entries) == 1 or context is None or self._postings is None:
            return entries[0].word
        postings = self._postings
        shared = [
            -1 if e.word in taken else len(np.intersect1d(postings(e.word), context, assume_unique=True))
            for e in entries
        ]
        return entries[max(range(len(entries)), key=lambda i: (shared[i], -i))].word

    def _spelling(self, token: str) -> str | None:
        """The closest KB word to a misspelt English word, if the token is no English word."""
        low = token.lower()
        if len(low) < 4 or (token.isupper() and len(token) > 1) or self._is_english(low):
            return None
        if any(self._is_english(form) for form in _number_forms(low)):
            return None  # the plural or singular of a known word (smartwatch, installments), not a typo
        hits = self._speller.lookup(low, Verbosity.CLOSEST, max_edit_distance=1 if len(low) < _LONG_WORD else 2)
        return max(hits, key=lambda h: h.count).term if hits else None

    def _is_word(self, text: str) -> bool:
        return text in self._chinese or self._dictionary_word(text)

    def _reading(self, char: str) -> str:
        """Toneless pinyin of one character, read alone (how an IME user picks a wrong one)."""
        reading = self._readings.get(char)
        if reading is None:
            reading = self._readings[char] = lazy_pinyin(char)[0]
        return reading

    def _homophones(self, text: str) -> str:
        """``text`` with homophone typos of KB words (see the module docstring) replaced, longest first."""
        if not self._sounds or not _CJK_RUN_RE.search(text):
            return text
        chars = list(text)
        for run in _CJK_RUN_RE.finditer(text):
            s = run.group()
            sounds = [self._reading(ch) for ch in s]
            found = []  # (start, end, word), longest first; most runs have none, and skip segmenting
            for size in range(min(_MAX_WORD, len(s)), 1, -1):
                for i in range(len(s) - size + 1):
                    entry = self._sounds.get(" ".join(sounds[i : i + size]))
                    window = s[i : i + size]
                    if entry is None or entry.word == window or entry.word in text:
                        continue
                    if not self._is_word(window) and self._rarer(window, entry.word):
                        found.append((i, i + size, entry.word))
            if not found:
                continue
            token_at: dict[int, int] = {}  # character offset -> index of the token starting there
            weak: list[bool] = []
            offset = 0
            for k, tok in enumerate(self._segment(s)):
                token_at[offset] = k
                weak.append(len(tok) == 1 or not self._is_word(tok))
                offset += len(tok)
            token_at[offset] = len(weak)
            taken = [False] * len(s)
            for i, j, word in found:
                if i not in token_at or j not in token_at or any(taken[i:j]):
                    continue
                if any(weak[token_at[i] : token_at[j]]):
                    chars[run.start() + i : run.start() + j] = word
                    taken[i:j] = [True] * (j - i)
        return "".join(chars)

    def _rarer(self, window: str, word: str) -> bool:
        """Some character stays in place and every replaced one is ``_RARER`` times rarer in the KB."""
        pairs = list(zip(window, word, strict=True))
        if all(a != b for a, b in pairs):
            return False
        return all(self._chinese.get(a, 0) * _RARER <= self._chinese.get(b, 0) for a, b in pairs if a != b)
