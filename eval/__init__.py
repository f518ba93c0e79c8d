"""Offline retrieval-quality evaluation: ``kbassist eval`` (see eval/RESULTS.md)."""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
