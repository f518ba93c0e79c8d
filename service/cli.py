"""The ``kbassist`` console script: one thin group assembling each package's commands."""

from __future__ import annotations

import logging

import click

from service.config import ServiceSettings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """kbassist: knowledge-base retrieval for customer-service teams."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bm25s").setLevel(max(level, logging.WARNING))
    if ctx.obj is None:
        ctx.obj = ServiceSettings()


def _register() -> None:
    from eval.cli import COMMANDS as EVAL_COMMANDS
    from indexer.cli import COMMANDS
    from service.commands import COMMANDS as SERVICE_COMMANDS
    from service.credits.commands import COMMANDS as CREDITS_COMMANDS
    from service.dashboard.commands import with_monthly
    from service.keys.commands import COMMANDS as KEYS_COMMANDS
    from service.usage.commands import COMMANDS as USAGE_COMMANDS

    for command in (*COMMANDS, *EVAL_COMMANDS, *SERVICE_COMMANDS, *KEYS_COMMANDS, *USAGE_COMMANDS, *CREDITS_COMMANDS):
        main.add_command(command)
    main.add_command(with_monthly(main.commands["report"]))  # `report monthly` beside the usage reports


_register()
