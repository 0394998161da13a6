"""The CSV export: incidents.csv (with document counts), documents.csv (with incident keys),
cases.csv and amounts.csv (each amount with its kind, sentence, document and incident keys),
written into a folder."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path

import sqlite_utils

from ..errors import InvalidInput
from ..storage import dump
from ..storage.files import atomic_file


def csv_folder(value: str | Path) -> Path:
    """The folder CSV files go into; KBError for a file, or a name that reads as one file."""
    folder = Path(value)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file: csv writes three files, so give a folder")
    if not folder.exists() and folder.suffix.lower() == ".csv":
        raise InvalidInput(f"csv writes incidents.csv, documents.csv, cases.csv and amounts.csv into a folder: "
                      f"give a folder, not {folder.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create folder {folder}: {exc.strerror or exc}") from None
    return folder


def write_csv(db: sqlite_utils.Database, folder: Path) -> list[Path]:
    """incidents.csv (with document counts), documents.csv (with incident keys), cases.csv: all
    three replaced together once all are written, or none."""
    paths = [folder / f"{name}.csv" for name in dump.TABLES]
    with ExitStack() as files:
        for name, path in zip(dump.TABLES, paths):
            columns, found = dump.table(db, name)
            writer = csv.writer(files.enter_context(atomic_file(path)))
            writer.writerow(columns)
            writer.writerows(map(_inert, found))
    return paths


_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def _inert(row) -> list:
    """The row with every text cell that a spreadsheet would run as a formula quoted (OWASP)."""
    return ["'" + v if isinstance(v, str) and v.startswith(_FORMULA) else v for v in row]
