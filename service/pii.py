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

Numbers that only look like PII stay: an 18-digit number with a wrong check digit, a
16-digit number failing Luhn, an 11-digit number starting ``12``. Digit rules never
match inside a longer run of digits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
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

    def mask(self, text: str) -> Masked:
        """Replace every PII match in ``text`` by its ``[LABEL]``."""
        counts: Counter[str] = Counter()
        for rule in self.rules:

            def replace(m: re.Match[str], rule: Rule = rule) -> str:
                if rule.check is not None and not rule.check(m.group(0)):
                    return m.group(0)
                counts[rule.label] += 1
                return f"[{rule.label}]"

            text = rule.pattern.sub(replace, text)
        return Masked(text, dict(counts))
