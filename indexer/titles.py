"""How much of an article's title and tags a query names: a ranking signal apart from the body.

An editor's title and tags say what an article is *for*; the body also mentions what it
is not for (exceptions, links to neighbours, a glossary of statuses). BM25 over chunks
cannot tell the two apart, so hybrid search adds, per candidate article, the share of its
title and tag terms that the query contains, each term weighted by its IDF over the
KB's titles and tags (a term every title shares says nothing):
``coverage = Σ_{t ∈ query ∩ title} idf(t) / Σ_{t ∈ title} idf(t)``, in [0, 1].
An article without a title or tags has coverage 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def title_text(meta: Mapping[str, Any]) -> str:
    """The words an article's metadata states its purpose in: title and tags."""
    tags = meta.get("tags") or []
    return " ".join([str(meta.get("title") or ""), *(str(t) for t in tags)])


class TitleIndex:
    """Per article, its title and tag terms with their IDF weights.

    Args:
        texts: per article (in the retriever's article order), its :func:`title_text`.
        tokens: the build's analyzer (``Analyzer.tokens``): the same terms queries get.
    """

    def __init__(self, texts: Sequence[str], tokens: Callable[[str], list[str]]) -> None:
        term_sets = [set(tokens(t)) for t in texts]
        df: dict[str, int] = {}
        for terms in term_sets:
            for term in terms:
                df[term] = df.get(term, 0) + 1
        n = len(term_sets)
        idf = {term: math.log(1 + n / count) for term, count in df.items()}
        self._postings: dict[str, tuple[NDArray[np.int64], float]] = {}
        members: dict[str, list[int]] = {}
        for article, terms in enumerate(term_sets):
            for term in terms:
                members.setdefault(term, []).append(article)
        for term, articles in members.items():
            self._postings[term] = (np.array(articles, np.int64), idf[term])
        total = np.array([sum(idf[t] for t in terms) for terms in term_sets], np.float32)
        self._total = np.where(total > 0, total, 1.0).astype(np.float32)
        self._size = n

    def coverage(self, terms: Iterable[str], articles: NDArray[np.int64]) -> NDArray[np.float32]:
        """Per article of ``articles`` (indices), the IDF share of its title terms among ``terms``."""
        found = np.zeros(self._size, np.float32)
        for term in set(terms):
            posting = self._postings.get(term)
            if posting is not None:
                found[posting[0]] += posting[1]
        return np.asarray(found[articles] / self._total[articles], np.float32)
