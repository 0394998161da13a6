"""Extraction: the write path and what it reads out of each stored document.

- pipeline: THE write path (store, then STEPS per batch: entities, legal facts, link), resumable
- entities, names, facts, entity, aliases, status: entities and facts with their spans and status
- legal, legal_en, legal_zh: legal facts (arrest, charge, plea, verdict, sentence, claim) with their sentence
- court_records, insider_filter: is a text a Chinese court record; is it about an insider incident
- workers: pure per-document work on forked processes (KB_WORKERS)
"""
