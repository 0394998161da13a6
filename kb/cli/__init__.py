"""The `kb` command line: a thin click skin over `kb.KB`; each module holds one group of commands.

- data: init, import (starter, vcdb, jsonl), add, extract, alias
- read: stats, show, similar, sources, runs, export
- searching: search, embed, index
- incident: the `kb incident` group (relink, candidates, merge, split, link, edit)
- ops: scrape, update, cron, serve
- watch: the `kb watch` group (add, list, rm, show, notify)
- output: how results are printed
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
from pathlib import Path

import click

from .. import settings
from ..errors import CannotWrite, KBError
from ..knowledge_base import KB


EXIT_CANNOT_WRITE = 4  # a file could not be written (disk full...): as `kb update` when it cannot run
WRITE_FAILED = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO)  # a full disk, a file size limit


class KBGroup(click.Group):
    """Turns expected problems into one clear line and a non-zero exit (1; 4 for a failed write)."""

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk under `kb export > file` shows here, not after exit
            return result
        except CannotWrite as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(EXIT_CANNOT_WRITE)
        except KBError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except sqlite3.DatabaseError as exc:
            click.echo(f"Error: database problem: {exc}", err=True)
            sys.exit(1)
        except BrokenPipeError:  # `kb export | head`: the reader has what it wanted
            _drop_stdout()
            sys.exit(1)
        except OSError as exc:
            if exc.errno not in WRITE_FAILED:
                raise
            _drop_stdout()
            click.echo(f"Error: cannot write the output: {exc.strerror}", err=True)
            sys.exit(EXIT_CANNOT_WRITE)


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so the output still buffered is not written again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@click.group(cls=KBGroup)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="KB_DB",
              default=str(settings.DEFAULT_DB), show_default=True,
              help="SQLite database file (env KB_DB).")
@click.version_option(package_name="insider-incident-kb")
@click.pass_context
def main(ctx: click.Context, db_path: str) -> None:
    """Insider Incident KB: insider incidents in tech from news and court records."""
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = Path(db_path)


def knowledge_base(ctx: click.Context, readonly: bool = False, create: bool = True, **flags) -> KB:
    """The command's knowledge base (read commands: read-only; its database opened when first used)."""
    return KB(ctx.find_root().obj["db_path"], readonly=readonly, create=create, **flags)


from . import data, incident, ops, read, searching, watch  # noqa: E402,F401  (their commands join `main`)
