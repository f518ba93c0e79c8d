"""The points bank (能力积分银行): an append-only, explainable credit ledger read from usage facts (docs/credits.md)."""
