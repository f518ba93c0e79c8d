"""Mask personal data in customer messages before they are stored, logged or embedded.

What is masked, in this order (each match becomes its ``[LABEL]``):

- ``[EMAIL]``  e-mail addresses.
- configured patterns (``KB_PII_PATTERNS``, default ``{"ORDER": "XL\\d{16}"}``), before the
  digit rules so an order number is never half-eaten by them.
- ``[ID]``     18-digit Chinese resident ID numbers whose ISO 7064 check digit is right.
- ``[CARD]``   13–19 digit bank card numbers (plain or in groups of four) that pass Luhn.
- ``[PHONE]``  Chinese mobiles (``1[3-9]`` + 9 digits, optional ``+86``/``0086``, spaces or
  dashes 3-4-4), Chinese landlines (``010-12345678``, ``(0755)1234567``, ``02112345678``,
  optional extension) and international numbers (``+`` or ``00``, country code, 6–14 digits).

The rules run twice: on the text as written, then on it with separators between
digits removed, so ``139.2222.3333``, ``139-2222 3333`` and ``110105 19900307 1239``
are caught as well. Both passes look at the NFKC form of the text (full-width
``１３９１１１１２２２２`` and ``＠`` become ASCII) and replace the matching span of the
original, so everything else (full-width punctuation included) is stored as written.
The as-written pass comes first so that a number followed by another one
(``13811112222 100``) is not joined into a longer run that no rule matches, and
``0086-13812345678`` is a phone before its joined digits can pass Luhn as a card.

Numbers that only look like PII stay: an 18-digit number with a wrong check digit, a
16-digit number failing Luhn, an 11-digit number starting ``12``, dates, amounts and
hotlines (``400-820-6688``, ``95588``), which stay too short for any rule when joined.
Digit rules never match inside a longer run of digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
ID_CARD = re.compile(r"(?<![0-9])[1-9]\d{16}[0-9Xx](?![0-9A-Za-z])")
BANK_CARD = re.compile(r"(?<![0-9])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?![0-9])")
MOBILE = re.compile(r"(?<![0-9+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![0-9])")
LANDLINE = re.compile(
    r"(?<![0-9])(?:\(0\d{2,3}\)[ ]?\d{7,8}|0\d{2,3}[ -]\d{7,8}|0[1-9]\d{9,10})(?:[-#转]\d{1,5})?(?![0-9])"
)
INTERNATIONAL = re.compile(r"(?<![0-9A-Za-z])(?:\+|00)[1-9]\d{0,2}(?:[ -]?\d){6,14}(?![0-9])")
# Spaces, dots and dashes (after NFKC: full-width ones are ASCII already) between two digits.
DIGIT_SEPARATOR = re.compile(r"(?<=[0-9])[\s.\-\u2010-\u2015\u00b7]{1,2}(?=[0-9])")
# Not dashes: dash-separated dates and sequence numbers (T-20261202-000109) are the norm in
# ticket ids, and joined they would read as a Luhn-valid card number one time in ten.
IDENTIFIER_SEPARATOR = re.compile(r"(?<=[0-9])[\s.\u00b7]{1,2}(?=[0-9])")


def id_checksum_ok(number: str) -> bool:
    """Whether an 18-character ID number has the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


@dataclass(frozen=True, slots=True)
class Rule:
    """One masking rule: a pattern, its label and an optional validator of the match."""

    label: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None


@dataclass(frozen=True, slots=True)
class Masked:
    """A masked text and how many matches of each label were replaced."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)


class PIIMasker:
    """Applies the built-in rules plus configured patterns (see the module docstring)."""

    def __init__(self, extra: Mapping[str, str] | None = None) -> None:
        """Compile the rules.

        Args:
            extra: ``{"LABEL": regex}`` masked after e-mail and before the digit rules.

        Raises:
            ValueError: a configured pattern is not a valid regular expression.
        """
        custom = []
        for label, regex in (extra or {}).items():
            try:
                custom.append(Rule(label.upper(), re.compile(regex)))
            except re.error as exc:
                raise ValueError(f"KB_PII_PATTERNS: {label}: invalid regex {regex!r}: {exc}") from exc
        self.rules: tuple[Rule, ...] = (
            Rule("EMAIL", EMAIL),
            *custom,
            Rule("ID", ID_CARD, id_checksum_ok),
            Rule("CARD", BANK_CARD, _is_card),
            Rule("PHONE", MOBILE),
            Rule("PHONE", INTERNATIONAL),
            Rule("PHONE", LANDLINE),
        )

    def mask(self, text: str, *, separators: re.Pattern[str] = DIGIT_SEPARATOR) -> Masked:
        """Replace every PII match in ``text`` by its ``[LABEL]`` (see the module docstring).

        Args:
            separators: what may split the digits of one number in the second pass;
                :data:`IDENTIFIER_SEPARATOR` for ticket and agent ids.
        """
        counts: Counter[str] = Counter()
        for joined in (None, separators):
            view, origin = _view(text, joined)
            for rule in self.rules:
                pieces: list[str] = []
                last = 0
                for m in rule.pattern.finditer(view):
                    if m.end() == m.start() or (rule.check is not None and not rule.check(m.group(0))):
                        continue
                    start, end = origin[m.start()], origin[m.end() - 1] + 1
                    if start < last:
                        continue
                    pieces += (text[last:start], f"[{rule.label}]")
                    last = end
                    counts[rule.label] += 1
                if pieces:
                    text = "".join(pieces) + text[last:]
                    view, origin = _view(text, joined)
        return Masked(text, dict(counts))


def _view(text: str, separators: re.Pattern[str] | None) -> tuple[str, Sequence[int]]:
    """``text`` in NFKC form (without ``separators`` between digits, if given), and each character's index in ``text``.

    Normalised one character at a time so every character of the view maps back to
    exactly one character of ``text``.
    """
    view: str = text
    origin: Sequence[int] = range(len(text))
    if not unicodedata.is_normalized("NFKC", text):
        chars: list[str] = []
        indices: list[int] = []
        for i, ch in enumerate(text):
            normal = unicodedata.normalize("NFKC", ch)
            chars.append(normal)
            indices.extend([i] * len(normal))
        view, origin = "".join(chars), indices
    if separators is None or separators.search(view) is None:
        return view, origin
    kept_chars: list[str] = []
    kept: list[int] = []
    last = 0
    for m in separators.finditer(view):
        kept_chars.append(view[last : m.start()])
        kept.extend(origin[last : m.start()])
        last = m.end()
    kept_chars.append(view[last:])
    kept.extend(origin[last:])
    return "".join(kept_chars), kept
