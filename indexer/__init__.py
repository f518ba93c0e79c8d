"""kbassist indexer: turns ``kb_content/`` into versioned hybrid (FAISS + BM25) index builds.

The indexer owns the on-disk index format. The service and the evaluation only read
what it publishes.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
