"""The rules file: the packaged default loads; every kind of bad file is refused with file and line."""

import pytest

from service.credits.rules import SPEC, RulesError, load_rules, parse_rules


def test_the_packaged_default_covers_every_rule_and_is_versioned_by_its_bytes():
    rules = load_rules()
    assert set(rules.rules) == set(SPEC)
    assert rules.get("citation").points == 5 and rules.get("citation").daily_cap == 20
    assert rules.get("csat").params["points_by_score"][5] == 5
    assert (
        parse_rules(b"rules:\n  citation: {points: 5}\n", "a").version
        != parse_rules(b"rules:\n  citation: {points: 6}\n", "a").version
    )


def test_a_rule_left_out_earns_nothing():
    assert parse_rules(b"rules:\n  citation: {points: 5}\n", "x.yaml").get("csat") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"rules:\n  citation: {points: 1}\n  bogus: {points: 2}\n", "x.yaml:3: unknown rule 'bogus'"),
        (b"rules:\n  citation:\n    points: 1.5\n", "x.yaml:3: citation.points must be a non-negative integer"),
        (b"rules:\n  citation:\n    points: -1\n", "x.yaml:3: citation.points must be a non-negative integer"),
        (b"rules:\n  citation:\n    pts: 1\n", "x.yaml:3: rule citation has no parameter 'pts'"),
        (b"rules:\n  citation: {daily_cap: 2}\n", "x.yaml:2: rule citation misses points"),
        (
            b"rules:\n  gap_article:\n    points: 1\n    tag: content-gap\n",
            "x.yaml:4: rule gap_article has no parameter 'tag' (the bonus now needs a recorded gap",
        ),
        (b"rules:\n  csat:\n    points_by_score: {6: 1}\n", "x.yaml:3: csat.points_by_score key '6'"),
        (b"rules:\n  citation: {points: 1\n", "x.yaml:3: not valid YAML"),
        (b"rule:\n  citation: {points: 1}\n", "x.yaml:1: unknown top-level key 'rule'"),
        (b"", "x.yaml:1: empty rules file"),
        (b"rules:\n  citation: {points: 1}\n  citation: {points: 2}\n", "x.yaml:3: rule citation is given twice"),
    ],
)
def test_a_bad_rules_file_is_refused_with_file_and_line(text, message):
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "x.yaml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_an_unreadable_path_names_the_file(tmp_path):
    with pytest.raises(RulesError, match="missing.yaml: cannot read"):
        load_rules(tmp_path / "missing.yaml")
