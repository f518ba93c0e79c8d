"""Webhook field mappings: the two documented examples, and the errors a mismatch gives."""

import pytest

from service.usage.mapping import BUILTIN, FieldMapping, MappingError, compile_mappings

ZENDESK_BODY = {
    "ticket": {
        "id": 35436,
        "status": "solved",
        "satisfaction": {"score": "good"},
        "priority": "high",
        "assignee": {"email": "li.na@example.com"},
        "group": {"name": "refunds"},
        "via": "chat",
        "updated_at": "2026-11-30T09:15:00+08:00",
    }
}
FRESHDESK_BODY = {
    "freshdesk_webhook": {
        "ticket_id": "8812",
        "ticket_status": "Closed",
        "ticket_cf_fcr": "Yes",
        "ticket_cf_csat": 4,
        "ticket_cf_escalation_level": "L3",
        "ticket_agent_email": "wang.wei@example.com",
        "ticket_group_name": "logistics",
        "ticket_source": "Email",
        "triggered_event_id": "fd-evt-77",
    }
}


def test_zendesk_example_maps_to_our_fields():
    fields = compile_mappings({})["zendesk"].apply(ZENDESK_BODY)
    assert fields == {
        "ticket_id": "35436",
        "status": "resolved",
        "csat": 5,
        "complexity": "L2",
        "agent_ids": ["li.na@example.com"],
        "team": "refunds",
        "channel": "chat",
        "occurred_at": "2026-11-30T09:15:00+08:00",
    }


def test_freshdesk_example_maps_to_our_fields():
    fields = compile_mappings({})["freshdesk"].apply(FRESHDESK_BODY)
    assert fields == {
        "ticket_id": "8812",
        "status": "closed",
        "first_contact_resolution": True,
        "csat": 4,
        "complexity": "L3",
        "agent_ids": ["wang.wei@example.com"],
        "team": "logistics",
        "channel": "email",
        "idempotency_key": "fd-evt-77",
    }


def test_optional_paths_may_be_absent_but_required_ones_are_named():
    body = {"ticket": {k: v for k, v in ZENDESK_BODY["ticket"].items() if k not in ("satisfaction", "group")}}
    fields = compile_mappings({})["zendesk"].apply(body)
    assert "csat" not in fields and "team" not in fields
    del body["ticket"]["status"]
    with pytest.raises(MappingError, match=r"\$\.ticket\.status \(status\) matches nothing") as caught:
        compile_mappings({})["zendesk"].apply(body)
    assert caught.value.path == "$.ticket.status"


def test_an_untranslatable_value_is_an_error_listing_the_known_ones():
    body = {"ticket": {**ZENDESK_BODY["ticket"], "status": "pending"}}
    with pytest.raises(MappingError, match="status value 'pending' .* not one of: solved, closed, open"):
        compile_mappings({})["zendesk"].apply(body)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"fields": {"csat": "$.x"}}, "at least 'status'"),
        ({"fields": {"status": "$.s", "mood": "$.m"}}, "unknown field"),
        ({"fields": {"status": "$..[?("}}, "bad JSON path"),
    ],
)
def test_bad_mapping_specs_fail_at_compile_time(spec, message):
    with pytest.raises(MappingError, match=message):
        FieldMapping.compile("custom", spec)


def test_configured_mappings_join_the_builtin_ones():
    mappings = compile_mappings({"mine": {"fields": {"status": "$.state"}}})
    assert set(mappings) == {*BUILTIN, "mine"}
    assert mappings["mine"].apply({"state": "resolved"}) == {"status": "resolved"}
