"""``kbassist keys create|list|revoke``: manage API keys (stored hashed; a new key is shown once)."""

from __future__ import annotations

import click
from sqlmodel import Session

from service.config import service_settings_from
from service.db import migrated_engine
from service.errors import InvalidInput
from service.fields import refuse_pii
from service.keys import crud
from service.keys.models import ROLES
from service.pii import PIIMasker


@click.group("keys")
def keys_group() -> None:
    """Manage API keys (stored hashed; a new key is shown once)."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--agent-id", help="Agent the key is bound to (required for --role agent).")
@click.option("--name", help="A label for `keys list`.")
@click.pass_context
def keys_create(ctx: click.Context, role: str, agent_id: str | None, name: str | None) -> None:
    """Create a key; the key itself is printed on the last line.

    The agent id must not read as personal data and the name is stored masked, as
    everything the service stores (:mod:`service.fields`).
    """
    settings = service_settings_from(ctx)
    masker = PIIMasker(settings.pii_patterns)
    try:
        refuse_pii(masker, field="--agent-id", value=agent_id)
    except InvalidInput as exc:
        raise click.BadParameter(exc.message.removeprefix("--agent-id: "), param_hint="--agent-id") from exc
    name = masker.mask(name).text if name else name
    with migrated_engine(settings.database_url) as engine, Session(engine) as session:
        try:
            row, key = crud.create_api_key(session=session, role=role, agent_id=agent_id, name=name)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"created key {row.id} ({row.role}{', agent ' + agent_id if agent_id else ''}); store it now:", err=True)
    click.echo(key)


@keys_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include revoked keys.")
@click.pass_context
def keys_list(ctx: click.Context, show_all: bool) -> None:
    """List keys (id, prefix, role, agent, created, revoked)."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        rows = crud.list_api_keys(session=session, include_revoked=show_all)
    click.echo("id\tprefix\trole\tagent_id\tname\tcreated_at\trevoked_at")
    for r in rows:
        created = r.created_at.isoformat(timespec="seconds")
        revoked = r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "-"
        click.echo(f"{r.id}\t{r.prefix}…\t{r.role}\t{r.agent_id or '-'}\t{r.name or '-'}\t{created}\t{revoked}")


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: int) -> None:
    """Revoke a key by id (running services stop accepting it within KB_KEY_CACHE_SECONDS)."""
    with migrated_engine(service_settings_from(ctx).database_url) as engine, Session(engine) as session:
        row = crud.revoke_api_key(session=session, key_id=key_id)
    if row is None:
        raise click.ClickException(f"no key with id {key_id}")
    click.echo(f"revoked key {key_id}")


COMMANDS = (keys_group,)
