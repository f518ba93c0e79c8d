"""A KB with one hostile article (script, event handler, javascript: links), indexed with the fake embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from indexer.build import BuildOptions, build_index
from tests.conftest import KB_MINI, FakeEmbedder

XSS_ID = "refund-xss-probe"
# Every construct sets window.__xss when it runs; the page must never see it set.
XSS_ARTICLE = """---
id: refund-xss-probe
title: 退款到账说明<img src=x onerror="window.__xss=1">
lang: zh
category: refunds
tags: [退款, 到账]
product: all
channel: [chat]
audience: public
status: published
authors: [cs-001]
updated: 2026-09-01
review_by: 2021-01-01
---
# 退款到账说明

退款到账 <script>window.__xss = 1; alert(1)</script> 请看 <img src=x onerror="window.__xss=1"> 订单详情。
<a href="javascript:window.__xss=1">点这里</a> 或 [这里](javascript:window.__xss=1)，
相关：[退款多久到账](kb:refund-arrival)。

<div onmouseover="window.__xss=1" style="position:fixed;inset:0">覆盖</div>

## 标准答复

{客户称呼}您好，您的退款已原路退回，请留意到账通知。
"""


def write_kb_with_xss(target: Path) -> Path:
    """kb_mini plus the hostile article, copied to ``target``."""
    shutil.copytree(KB_MINI, target)
    (target / f"{XSS_ID}.md").write_text(XSS_ARTICLE, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def xss_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kb_with_xss(tmp_path_factory.mktemp("xss") / "kb")


@pytest.fixture(scope="session")
def xss_index(xss_kb: Path) -> Path:
    """The hostile KB indexed once; read-only."""
    root = xss_kb.parent / "index"
    build_index(xss_kb, root, FakeEmbedder(), BuildOptions(chunk_size=120))
    return root
