"""Suggestions: POST /v1/suggest and the record of every answered call."""
