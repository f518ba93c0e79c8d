"""`kbassist` with the tests' FakeEmbedder: ``python -m tests.security.fake_serve serve --port N``.

The real command line, migrations, logging and uvicorn of `kbassist serve`; only the
query embedder is swapped, so the process serves builds made with the FakeEmbedder
(the real model would take minutes to build an index for each test module).
"""

from __future__ import annotations

from indexer.config import Settings
from indexer.embed import Embedder
from service import main as service_main
from service.cli import main
from tests.conftest import FakeEmbedder


def _fake_embedder(_settings: Settings, threads: int | None = None) -> Embedder:  # noqa: ARG001
    return FakeEmbedder()


if __name__ == "__main__":
    service_main.make_embedder = _fake_embedder
    main()
