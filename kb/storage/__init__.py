"""Storage: the SQLite schema and the modules that own its tables; SQL is written here.

- db, schema: open a knowledge base, numbered migrations
- sql: one transaction idiom, id lists, rows as dicts; merged: the one resolver of merged incidents
- store: idempotent writes of records; entities, legal_facts, runs, fetch_state: their tables' owners
- lookup, dump: the read side (counts, one record in full, every row for exports); restore: dump's rows written back
- files: the files beside the database (index, exports) written whole, and the locks of their writers
"""
