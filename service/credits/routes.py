"""Credits API: the caller's balance, ledgers, leaderboard, statement, adjustments, redemptions, explain.

Plain ``def`` routes: each waits on the database (and ``/me`` on a settle run), so they run in
the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from service.credits import audit, crud, ledger
from service.credits.bank import Bank
from service.credits.models import CreditEntry
from service.credits.schemas import (
    AdjustmentCreate,
    BalancePublic,
    EntriesPublic,
    EntryPublic,
    EntryResult,
    LeaderboardPublic,
    LeaderRow,
    MePublic,
    Period,
    RecentEntry,
    RedemptionCreate,
    SettledPublic,
)
from service.credits.statement import current_month, month_bounds, statement_csv
from service.deps import MaskerDep, SessionDep, require_roles
from service.errors import Forbidden, InvalidInput, NotFound
from service.fields import ROW_ID_MAX
from service.keys.auth import Principal
from service.usage.schemas import AgentId, Label

router = APIRouter(prefix="/v1/credits", tags=["credits"])

ActorDep = Annotated[Principal, Depends(require_roles("agent", "integration", acts_for_agent=True))]
ReaderDep = Annotated[Principal, Depends(require_roles("agent", "editor", "admin", "integration"))]
ManagerDep = Annotated[Principal, Depends(require_roles("editor", "admin", "integration"))]
AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
RedeemerDep = Annotated[Principal, Depends(require_roles("integration", "admin"))]
AgentPath = Annotated[AgentId, Path()]
PeriodQuery = Annotated[Period | None, Query(description="A month, YYYY-MM (KB_USAGE_TIME_ZONE).")]


async def get_bank(request: Request) -> Bank:
    """The points bank of the app."""
    bank: Bank = request.app.state.bank
    return bank


BankDep = Annotated[Bank, Depends(get_bank)]


def _public(entry: CreditEntry) -> EntryPublic:
    return EntryPublic.model_validate(entry, from_attributes=True)


def _actor(principal: Principal) -> str:
    return f"key:{principal.key_id}" + (f"/{principal.agent_id}" if principal.agent_id else "")


def _may_read(principal: Principal, agent_id: str) -> None:
    if principal.role == "agent" and principal.agent_id != agent_id:
        raise Forbidden("agent keys may read only their own credits", details={"agent_id": agent_id})


@router.get("/me", response_model=MePublic, summary="The calling agent's balance and latest entries")
def read_me(principal: ActorDep, session: SessionDep, bank: BankDep) -> MePublic:
    """Settles pending facts first, so a credit the agent just caused shows at once."""
    if principal.agent_id is None:
        raise InvalidInput(
            "this key acts for no agent",
            details=[{"field": "x-agent-id", "message": "required", "type": "missing"}],
        )
    bank.settle(session)
    agent = principal.agent_id
    period = current_month(bank.zone)
    since, until = month_bounds(period, bank.zone)
    recent, _ = crud.list_entries(session=session, agent_id=agent, limit=5)
    return MePublic(
        agent_id=agent,
        balance=crud.balance_of(session=session, agent_id=agent),
        period=period,
        period_points=crud.points_between(session=session, agent_id=agent, since=since, until=until),
        recent=[RecentEntry.model_validate(e, from_attributes=True) for e in recent],
    )


@router.get("/agents/{agent_id}", response_model=BalancePublic, summary="An agent's balance")
def read_balance(agent_id: AgentPath, principal: ReaderDep, session: SessionDep) -> BalancePublic:
    """Agent keys read only their own."""
    _may_read(principal, agent_id)
    return BalancePublic(agent_id=agent_id, balance=crud.balance_of(session=session, agent_id=agent_id))


@router.get("/agents/{agent_id}/entries", response_model=EntriesPublic, summary="An agent's ledger")
def read_entries(
    agent_id: AgentPath,
    principal: ReaderDep,
    session: SessionDep,
    bank: BankDep,
    period: PeriodQuery = None,
    rule: Annotated[Label | None, Query(description="Only this rule id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
) -> EntriesPublic:
    """Newest first; filters by month and rule."""
    _may_read(principal, agent_id)
    since, until = month_bounds(period, bank.zone) if period else (None, None)
    rows, count = crud.list_entries(
        session=session, agent_id=agent_id, since=since, until=until, rule_id=rule, limit=limit, offset=offset
    )
    return EntriesPublic(data=[_public(e) for e in rows], count=count)


@router.get("/leaderboard", response_model=LeaderboardPublic, summary="Agents by points earned in a month")
def read_leaderboard(
    _principal: ReaderDep,
    session: SessionDep,
    bank: BankDep,
    period: PeriodQuery = None,
    team: Annotated[Label | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LeaderboardPublic:
    """Points earned (entries other than redemptions) in the month, optionally within one team."""
    month = period or current_month(bank.zone)
    since, until = month_bounds(month, bank.zone)
    rows = crud.leaderboard(session=session, since=since, until=until, team=team, limit=limit)
    data = [LeaderRow(rank=n, agent_id=a, team=t, points=p) for n, (a, t, p) in enumerate(rows, 1)]
    return LeaderboardPublic(period=month, team=team, data=data)


@router.get("/statement", summary="The monthly statement as CSV", response_class=Response)
def read_statement(
    _principal: ManagerDep, session: SessionDep, bank: BankDep, period: Annotated[Period, Query()]
) -> Response:
    """One row per agent and rule, then a TOTAL row per agent (docs/credits.md)."""
    since, until = month_bounds(period, bank.zone)
    text = statement_csv(period, crud.statement_rows(session=session, since=since, until=until))
    headers = {"Content-Disposition": f'attachment; filename="credits-{period}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/adjustments", response_model=EntryResult, summary="A manual adjustment (admin)")
def create_adjustment(
    body: AdjustmentCreate, principal: AdminDep, session: SessionDep, bank: BankDep, masker: MaskerDep
) -> EntryResult:
    """Whole points with a mandatory reason; who made it is recorded; a debit may not overdraw."""
    entry, balance = ledger.adjust(
        session=session,
        agent_id=body.agent_id,
        points=body.points,
        reason=masker.mask(body.reason).text,
        actor=_actor(principal),
        key=body.idempotency_key,
        rules=bank.rules,
    )
    return EntryResult(entry=_public(entry), balance=balance)


@router.post("/redemptions", response_model=EntryResult, summary="Redeem points for a reward")
def create_redemption(
    body: RedemptionCreate, principal: RedeemerDep, session: SessionDep, bank: BankDep
) -> EntryResult:
    """Refused with 409 insufficient_points when the balance is short; a retry returns the first answer."""
    entry, balance = ledger.redeem(
        session=session,
        agent_id=body.agent_id,
        points=body.points,
        reward=body.reward,
        key=body.idempotency_key,
        actor=_actor(principal),
        rules=bank.rules,
    )
    return EntryResult(entry=_public(entry), balance=balance)


@router.get("/entries/{entry_id}/explain", summary="An entry and the facts that produced it")
def explain_entry(
    entry_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX)], principal: ReaderDep, session: SessionDep
) -> dict[str, Any]:
    """Rule, rules version, reason, the usage event / outcome / flag / article version, and the reversal chain."""
    found = audit.explain(session=session, entry_id=entry_id)
    if found is None or (principal.role == "agent" and found["entry"]["agent_id"] != principal.agent_id):
        raise NotFound(f"entry {entry_id} not found", details={"entry_id": entry_id})
    return found


@router.post("/settle", response_model=SettledPublic, summary="Settle new usage facts now (admin)")
def settle_now(_principal: AdminDep, session: SessionDep, bank: BankDep) -> SettledPublic:
    """What the timer does, on demand."""
    done = bank.settle(session)
    return SettledPublic(tickets=done.tickets, votes=done.votes, flags=done.flags, entries=done.entries)
