"""The faults of a soak: an article changed and re-indexed every minute, a replica SIGKILLed and restarted."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from soak.checks import Kill
from soak.replicas import Replica, kbassist

REVISION = (
    "\n\n补充说明（第 {n} 次修订，压力测试）：以上规则如有调整，以订单详情页和客服工作台展示的最新说明为准；"
    "客服在答复前请核对订单状态、支付方式和售后记录，遇到系统显示与规则不一致的情况，先安抚客户并记录工单，"
    "再按升级流程提交给二线同事处理，处理结果需在工单中备注，便于后续质检和知识库更新。"
    "如客户对处理时效有疑问，请说明各环节所需时间，并主动告知可以查询进度的位置。\n"
)


class Fault:
    """SIGKILL ``replica`` ``at`` seconds into the run, start it again ``restart_after`` seconds later."""

    def __init__(self, replica: Replica, clock: float, at: float, restart_after: float) -> None:
        self.replica, self.clock, self.at, self.restart_after = replica, clock, at, restart_after
        self.kill: Kill | None = None
        self.error = "the fault did not happen within the run: lengthen --duration or move --kill-at"

    def run(self) -> None:
        """Kill, restart, wait until ready; ``kill`` records when (``error`` says why not)."""
        time.sleep(max(0.0, self.clock + self.at - time.monotonic()))
        killed_at = time.monotonic() - self.clock
        self.replica.kill()
        time.sleep(self.restart_after)
        self.replica.start()
        try:
            self.replica.wait_ready(600)
        except SystemExit as exc:
            self.error = f"the restarted replica: {exc}"
            return
        self.kill = Kill(self.replica.name, killed_at, time.monotonic() - self.clock)
        self.replica.note_rss("start")


class Reindexer:
    """Every ``every`` seconds: append a paragraph to the next article and run `kbassist index` (incremental)."""

    def __init__(self, env: dict[str, str], content: Path, clock: float, every: float) -> None:
        self.env, self.content, self.clock, self.every = env, content, clock, every
        self.articles = sorted(p for p in content.rglob("*.md") if not p.name.startswith("_"))
        self.runs: list[dict[str, Any]] = []

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``; a reindex in progress when it is set finishes."""
        n = 0
        while not stop.wait(max(0.0, self.clock + self.every * (n + 1) - time.monotonic())):
            n += 1
            article = self.articles[(n * 37) % len(self.articles)]
            with article.open("a", encoding="utf-8") as f:
                f.write(REVISION.format(n=n))
            began = time.monotonic()
            done = kbassist(self.env, "index", "--content", str(self.content), check=False)
            summary = next((line for line in done.stdout.splitlines() if "embedded" in line), "").strip()
            self.runs.append(
                {
                    "at": began - self.clock,
                    "seconds": time.monotonic() - began,
                    "rc": done.returncode,
                    "article": article.stem,
                    "version": current_build_version(self.env),
                    "summary": summary or done.stderr.strip()[-300:],
                }
            )


def current_build_version(env: dict[str, str]) -> str | None:
    """The published build (``CURRENT``) of the shared index folder."""
    from indexer.versions import current_version

    return current_version(Path(env["KB_DATA_DIR"]) / "index")
