"""Exports: JSON lines (lossless: `kb import jsonl` reads it back), CSV files, IIDES bundles.

- jsonl: incidents, documents with their links, cases; tables: incidents.csv, documents.csv, cases.csv
- iides: one CERT IIDES bundle per incident (files are written whole: kb.storage.files)
"""
