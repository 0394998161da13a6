"""Ready-to-use schedules for `kb update`: a crontab line and a systemd service + timer."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .. import settings

DEFAULT_CRON = "17 */6 * * *"  # four times a day, off the hour
DEFAULT_CALENDAR = "*-*-* 00/6:17:00"


def kb_command(db_path: Path) -> str:
    """The absolute command line of this installation's `kb update`."""
    kb = Path(sys.executable).with_name("kb")
    return f"{shlex.quote(str(kb))} --db {shlex.quote(str(db_path.resolve()))} update"


def crontab_line(db_path: Path, schedule: str = DEFAULT_CRON) -> str:
    log = settings.paths(db_path).cron_log
    workdir = shlex.quote(str(Path.cwd()))
    return f"{schedule} cd {workdir} && {kb_command(db_path)} >> {shlex.quote(str(log))} 2>&1"


def systemd_units(db_path: Path, calendar: str = DEFAULT_CALENDAR) -> dict[str, str]:
    """{file name: contents} of a oneshot service and the timer that starts it."""
    service = f"""[Unit]
Description=Insider Incident KB update (scrape, link, embed, index)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
WorkingDirectory={Path.cwd()}
ExecStart={kb_command(db_path)}
# 75: another update was still running; not a failure.
SuccessExitStatus=75
Nice=10
"""
    timer = f"""[Unit]
Description=Run the Insider Incident KB update regularly

[Timer]
OnCalendar={calendar}
RandomizedDelaySec=10min
Persistent=true

[Install]
WantedBy=timers.target
"""
    return {"kb-update.service": service, "kb-update.timer": timer}
