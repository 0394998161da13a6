"""Importers: turn local files and datasets into records for `kb.store`."""
