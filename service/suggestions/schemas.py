"""Request and response schemas of POST /v1/suggest (not tables)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from indexer.config import SearchMode
from indexer.conversation import Turn, render
from service.fields import QUERY_MAX, VISIBLE, Channel, Documented, Lang, Query, TicketId, WholeNumber

MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_NAME = 40
MAX_CONTEXT_VALUE = 200
MAX_TURNS = 50


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A filter takes one value or a list of them; the schema says so (the model keeps a list).
FilterValues = Annotated[
    list[str],
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
# Placeholder values: what _context_limits enforces, stated in the schema.
Context = Annotated[
    dict[str, str],
    Documented.of(
        maxProperties=MAX_CONTEXT_KEYS,
        propertyNames={"minLength": 1, "maxLength": MAX_CONTEXT_NAME, "pattern": VISIBLE.pattern},
        additionalProperties={"type": "string", "maxLength": MAX_CONTEXT_VALUE},
    ),
]


class SuggestFilters(BaseModel):
    """Metadata filters; each accepts one value or a list (any of them matches)."""

    model_config = ConfigDict(extra="forbid")

    category: FilterValues = Field(default_factory=list)
    product: FilterValues = Field(default_factory=list)
    tags: FilterValues = Field(default_factory=list)
    channel: FilterValues = Field(default_factory=list)

    _lists = field_validator("category", "product", "tags", "channel", mode="before")(_as_list)


class ChatTurn(BaseModel):
    """One line of a conversation: who said it and what."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["customer", "agent"]
    text: Query = Field(min_length=1)


class SuggestRequest(BaseModel):
    """POST /v1/suggest body: the customer's message as ``query`` or the conversation as ``messages``."""

    model_config = ConfigDict(
        extra="forbid",
        # Exactly one of the two (what _query_or_messages enforces), stated in the schema.
        json_schema_extra={
            "oneOf": [
                {"required": ["query"], "properties": {"query": {"type": "string"}}},
                {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
            ]
        },
    )

    query: Query | None = Field(
        None,
        min_length=1,
        description="The customer's message (control characters are removed). A pasted chat (lines with speaker "
        "labels such as 客户：/坐席： or Customer:/Agent:, with or without timestamps) is searched by the customer's "
        "latest turns, without greetings and the agent's lines.",
    )
    messages: list[ChatTurn] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TURNS,
        description="The conversation as turns, oldest first, instead of `query`: the customer's latest turns are "
        f"searched, greetings and the agent's lines are not. At most {QUERY_MAX:,} characters in all, like a query.",
    )
    ticket_id: TicketId | None = None
    channel: Channel | None = None
    lang: Lang | None = None
    top_k: WholeNumber = Field(5, ge=1, le=50)
    mode: SearchMode = "hybrid"
    filters: SuggestFilters = Field(default_factory=SuggestFilters)
    context: Context | None = Field(
        None,
        description='Reply placeholder values, e.g. {"订单号": "…"}; PII in them is masked before use.',
    )

    @model_validator(mode="after")
    def _query_or_messages(self) -> SuggestRequest:
        if self.query is None and self.messages is None:
            # Named as a missing `query`, the field most integrators send, rather than the whole body.
            reason = "send the customer's message as `query` (or the conversation as `messages`)"
            missing = InitErrorDetails(type=PydanticCustomError("missing", reason), loc=("query",), input=None)
            raise ValidationError.from_exception_data(type(self).__name__, [missing])
        if self.query is not None and self.messages is not None:
            raise ValueError("send the customer's message as `query` or the conversation as `messages`, not both")
        if self.messages is not None and len(self.text) > QUERY_MAX:
            raise ValueError(f"messages: at most {QUERY_MAX:,} characters in all, like a query")
        return self

    @property
    def text(self) -> str:
        """The message as searched and stored: ``query``, or ``messages`` as labelled lines."""
        if self.query is not None:
            return self.query
        return render(Turn(m.role, m.text) for m in self.messages or ())

    @field_validator("context")
    @classmethod
    def _context_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if len(value) > MAX_CONTEXT_KEYS:
            raise ValueError(f"at most {MAX_CONTEXT_KEYS} keys")
        for name, text in value.items():
            if not VISIBLE.search(name) or len(name) > MAX_CONTEXT_NAME:
                raise ValueError(
                    f"key {name[:MAX_CONTEXT_NAME]!r}: names are 1–{MAX_CONTEXT_NAME} characters, one of them visible"
                )
            if len(text) > MAX_CONTEXT_VALUE:
                raise ValueError(f"value of {name!r}: at most {MAX_CONTEXT_VALUE} characters")
        return value


class AnswerOffsets(BaseModel):
    """Character offsets ``[start, end)`` into the article body."""

    start: int
    end: int


class PlaceholderPublic(BaseModel):
    """An unfilled placeholder: ``answer[start:end] == "{name}"``."""

    name: str
    start: int
    end: int


class SuggestResultPublic(BaseModel):
    """One suggested article."""

    article_id: str
    title: str = Field(description="Plain text: any HTML markup in the article's title is removed.")
    snippet: str = Field(description="Plain text, HTML-escaped, matched terms wrapped in <mark>…</mark>.")
    score: float
    category: str | None
    updated: str | None
    stale: bool = Field(description="The article's review date has passed.")
    answer: str = Field(
        description="Plain text an agent can send (no markup, context values included): "
        "the reply template, or the best passage."
    )
    answer_source: Literal["template", "passage"]
    answer_offsets: AnswerOffsets = Field(description="The article-body text the answer was made from.")
    placeholders: list[PlaceholderPublic] = Field(description="Unfilled {name} placeholders in `answer`.")


class SuggestResponse(BaseModel):
    """POST /v1/suggest response."""

    suggestion_id: str
    results: list[SuggestResultPublic]
    answerable: bool
    searched_as: str | None = Field(
        None, description="The masked query as searched, when pinyin or typos were rewritten (tk多久到 → 退款多久到)."
    )
    index_version: str
    took_ms: float
