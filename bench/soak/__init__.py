"""Parts of ``bench/soak.py``: the replica processes, the client traffic, the end-of-run checks."""
