"""Parsed Markdown files kept between builds: a publish parses only the files whose bytes changed.

Parsing the YAML front matter was most of the time of reading a 10k-file content folder, even with
libyaml (~150 µs a file against ~5 µs to read and hash its bytes; bench/README.md, Indexing).
Entries are keyed by path and the SHA-256 of the file's bytes, and every file is still read on every
build, so a changed file is found whatever its size and mtime say: an editor or ``rsync -t``
restoring the mtime, a same-size edit within the filesystem's timestamp granularity, a checkout.
Trusting ``stat`` alone would skip those reads but could serve a stale article, which no saving is
worth.

The file (``parsed.jsonl`` in the index root) is JSON Lines, never executed: a corrupt or foreign
line is ignored and the file parsed again. It holds a fingerprint of the parser (its code, the
article record's code, PyYAML's and libyaml's versions, the loader, and Python's version, whose date
parsing has changed before); any change there drops every entry. An entry is stored only when it
reads back equal to what the parser made (a front matter holding a YAML set or an integer key does
not survive JSON, and is simply parsed every time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from indexer import article as article_module
from indexer import parse as parse_module
from indexer.article import Article
from indexer.parse import ParsedFile, Problem, parse_bytes
from indexer.private import FILE_MODE

log = logging.getLogger(__name__)

CACHE_FILE = "parsed.jsonl"


def parser_fingerprint() -> str:
    """What a cached parse depends on besides the file's bytes."""
    h = hashlib.sha256()
    for module in (parse_module, article_module):
        h.update(Path(str(module.__file__)).read_bytes())
    libyaml = getattr(getattr(yaml, "_yaml", None), "get_version_string", lambda: "")()
    h.update(f"{yaml.__version__}:{libyaml}:{parse_module._Loader.__name__}:{sys.version_info[:2]}".encode())
    return h.hexdigest()[:32]


def _encode_value(value: object) -> object:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not kept in the parse cache")


def _decode_value(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "$date" in obj:
            return date.fromisoformat(obj["$date"])
        if "$datetime" in obj:
            return datetime.fromisoformat(obj["$datetime"])
    return obj


def encode(parsed: ParsedFile) -> str:
    """``parsed`` as one line of JSON (dates tagged).

    Raises:
        TypeError: a front-matter value has no JSON form.
    """
    art = None
    if parsed.article is not None:
        art = {f.name: getattr(parsed.article, f.name) for f in dataclasses.fields(Article) if f.init}
    problems = [[p.path, p.line, p.message, p.severity] for p in parsed.problems]
    data = [art, problems, parsed.key_lines, parsed.raw]
    return json.dumps(data, ensure_ascii=False, default=_encode_value)


def decode(text: str) -> ParsedFile:
    """The :class:`ParsedFile` that :func:`encode` made ``text`` of.

    Raises:
        ValueError, TypeError, KeyError: ``text`` is not such a line.
    """
    art, problems, key_lines, raw = json.loads(text, object_hook=_decode_value)
    article = Article(**art) if art is not None else None
    return ParsedFile(article, [Problem(*p) for p in problems], key_lines, raw)


def _read_bytes(path: str) -> bytes:
    """A file's bytes with plain ``os`` calls: a third of ``Path.read_bytes``'s CPU time on small files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while block := os.read(fd, 1 << 16):
            parts.append(block)
    finally:
        os.close(fd)
    return b"".join(parts)


class ParseCache:
    """Parses Markdown files, reusing the previous builds' parse of identical bytes at the same path.

    Args:
        path: the cache file, read now and replaced by :meth:`save`.
        reuse: False parses every file again (``kbassist index --full``) and writes a fresh cache.
    """

    def __init__(self, path: Path, reuse: bool = True) -> None:
        self.path = path
        self.fingerprint = parser_fingerprint()
        self._old: dict[str, tuple[str, str]] = {}  # path -> (sha256, the line holding its entry)
        self._new: dict[str, str] = {}
        self.hits = 0
        if reuse:
            self._read()

    def _read(self) -> None:
        try:
            with self.path.open(encoding="utf-8") as fh:
                header = json.loads(next(fh, "{}"))
                if not isinstance(header, dict) or header.get("fingerprint") != self.fingerprint:
                    return
                for line in fh:
                    key, sha, _ = line.split("\t", 2)
                    self._old[key] = (sha, line)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("parse cache %s unreadable (%s); parsing every file", self.path, exc)
            self._old.clear()

    def parse(self, path: Path) -> ParsedFile:
        """Parse ``path`` like :func:`indexer.parse.parse_markdown`, from the cache when its bytes are unchanged."""
        key = str(path)
        data = _read_bytes(key)
        sha = hashlib.sha256(data).hexdigest()
        old = self._old.get(key)
        if old is not None and old[0] == sha:
            try:
                parsed = decode(old[1].split("\t", 2)[2])
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("parse cache entry for %s unreadable (%s); parsing it", key, exc)
            else:
                self._new[key] = old[1]
                self.hits += 1
                return parsed
        parsed = parse_bytes(data, key)
        try:
            text = encode(parsed)
            kept = decode(text) == parsed
        except (TypeError, ValueError):
            kept = False
        if kept and not any(c in key for c in "\t\n\r"):
            self._new[key] = f"{key}\t{sha}\t{text}\n"
        return parsed

    def save(self) -> None:
        """Write the entries of the files parsed since loading (files gone since are dropped).

        A cache that cannot be written only costs the next build its parse: a warning, not a failure.
        """
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fd, FILE_MODE)
                fh.write(json.dumps({"fingerprint": self.fingerprint}) + "\n")
                fh.writelines(self._new.values())
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write the parse cache %s (%s); the next build parses every file", self.path, exc)
