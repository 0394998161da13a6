"""The CSV export: incidents.csv (with document counts), documents.csv (with incident keys) and
cases.csv, written into a folder."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlite_utils

from ..errors import InvalidInput
from ..storage import dump


def csv_folder(value: str | Path) -> Path:
    """The folder CSV files go into; KBError for a file, or a name that reads as one file."""
    folder = Path(value)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"{folder} is a file: csv writes three files, so give a folder")
    if not folder.exists() and folder.suffix.lower() == ".csv":
        raise InvalidInput(f"csv writes incidents.csv, documents.csv and cases.csv into a folder: "
                      f"give a folder, not {folder.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create folder {folder}: {exc.strerror or exc}") from None
    return folder


def write_csv(db: sqlite_utils.Database, folder: Path) -> list[Path]:
    """incidents.csv (with document counts), documents.csv (with incident keys), cases.csv."""
    written = []
    for name in dump.TABLES:
        columns, found = dump.table(db, name)
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            writer.writerows(found)
        written.append(path)
    return written
