"""jieba's prefix dictionary, loaded one first character at a time.

jieba segments with a dict of ~500k words and word prefixes, which it loads whole (a
marshal cache) before its first cut: about a second of CPU, more than the rest of a
one-article publish. Every lookup jieba makes while cutting a text is a substring of that
text, so it only ever needs the entries that start with one of the text's characters.
:class:`LazyPrefixDict` keeps the dictionary on disk split by first character and merges
a character's entries into the tokenizer's plain dict the first time a text holds it;
jieba's own loops then run on a plain dict at full speed.

The split file is made once from jieba's dictionary (as jieba makes its own cache) and
named after that dictionary's path, size and time, so a new jieba version makes a new one.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import mmap
import os
import struct
import tempfile
import threading
from pathlib import Path

import jieba

log = logging.getLogger(__name__)

_FORMAT = 1
_HEADER = struct.Struct("<Q")


def _shard_file(dictionary: Path) -> Path:
    """Where the split copy of ``dictionary`` lives (beside jieba's own cache)."""
    stat = dictionary.stat()
    key = f"{_FORMAT}\0{dictionary.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}"
    name = f"kbassist-jieba-{hashlib.sha256(key.encode()).hexdigest()[:16]}.shards"
    return Path(jieba.dt.tmp_dir or tempfile.gettempdir()) / name


def _write_shards(dictionary: Path, target: Path) -> None:
    """Split jieba's prefix dictionary (of ``dictionary``) by first character into ``target``, atomically."""
    with dictionary.open("rb") as fh:
        freq, total = jieba.Tokenizer().gen_pfdict(fh)
    shards: dict[str, dict[str, int]] = {}
    for word, count in freq.items():
        shards.setdefault(word[0], {})[word] = count
    blobs: list[bytes] = []
    index: dict[str, tuple[int, int]] = {}
    offset = 0
    for char, shard in shards.items():
        blob = marshal.dumps(shard)
        index[char] = (offset, len(blob))
        blobs.append(blob)
        offset += len(blob)
    head = marshal.dumps((index, total))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_HEADER.pack(len(head)))
        fh.write(head)
        for blob in blobs:
            fh.write(blob)
    os.replace(tmp, target)
    log.info("split jieba's dictionary %s into %s (%d first characters)", dictionary, target, len(index))


class LazyPrefixDict:
    """Feeds a ``jieba.Tokenizer`` its default dictionary a first character at a time.

    After :meth:`attach`, call :meth:`ensure` with every text before the tokenizer cuts it
    (or before ``add_word`` adds it): the tokenizer's ``FREQ`` then holds every entry a cut
    of that text can look up, exactly as if the whole dictionary were loaded.
    """

    def __init__(self) -> None:
        dictionary = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
        path = _shard_file(dictionary)
        if not path.is_file():
            _write_shards(dictionary, path)
        with path.open("rb") as fh:
            self._data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        (head_len,) = _HEADER.unpack_from(self._data, 0)
        start = _HEADER.size
        self._index: dict[str, tuple[int, int]]
        self._index, self.total = marshal.loads(self._data[start : start + head_len])
        self._base = start + head_len
        self._loaded: set[str] = set()
        self._lock = threading.Lock()
        self._freq: dict[str, int] = {}

    def attach(self, tokenizer: jieba.Tokenizer) -> None:
        """Make ``tokenizer`` use this dictionary (before any word is added to it)."""
        tokenizer.FREQ = self._freq
        tokenizer.total = self.total
        tokenizer.initialized = True

    def ensure(self, text: str) -> None:
        """Merge the entries of every character of ``text`` not merged yet."""
        missing = set(text) - self._loaded
        if not missing:
            return
        with self._lock:
            for char in missing - self._loaded:
                where = self._index.get(char)
                if where is not None:
                    offset, size = where
                    self._freq.update(marshal.loads(self._data[self._base + offset : self._base + offset + size]))
                self._loaded.add(char)
