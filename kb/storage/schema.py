"""The schema: numbered SQL migrations, each one script applied in its own transaction.

This module is SQL only (its length is the schema's); kb.storage.db applies it.
Every table and what owns its rows:

- documents, incidents, cases, incident_documents: kb.storage.store (writes), kb.storage.lookup (reads)
- entities, entity_aliases, document_entities: kb.storage.entities
- legal_facts: kb.storage.legal_facts
- link_candidates, document_sketches: kb.incidents
- chunks, staged_vectors: kb.index (chunks.derived: passages for retrieval only)
- documents_words, documents_fts, documents_segmented (full-text indexes, kept by triggers): kb.search.keyword
- incidents_fts (the site's incident search box, kept by triggers); views incident_list, document_list: kb.web reads them
- runs, run_errors, source_state: kb.storage.runs; fetch_state: kb.storage.fetch_state
- settings: kb.storage.db
- watches, watch_matches: kb.storage.watches
- amounts: kb.storage.amounts (read from texts by kb.incidents.amounts); incidents' scope, legal status and impact, cases' status and damages: kb.incidents.derive
"""

_M1_CORE = """
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    url TEXT,
    canonical_url TEXT,
    title TEXT,
    author TEXT,
    published TEXT,
    language TEXT,
    text TEXT NOT NULL DEFAULT '',
    curated INTEGER NOT NULL DEFAULT 0,
    meta TEXT,
    content_sha256 TEXT,
    fetched_at TEXT,
    http_etag TEXT,
    http_last_modified TEXT,
    raw_sha256 TEXT,
    raw_path TEXT,
    chunked_sha256 TEXT,  -- content_sha256 when the document was last chunked
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX documents_published ON documents(published);
CREATE INDEX documents_kind ON documents(kind);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE,
    title TEXT,
    title_zh TEXT,
    summary TEXT,
    summary_zh TEXT,
    organisation TEXT,
    sector TEXT,
    country TEXT,
    insider_name TEXT,
    insider_role TEXT,
    employment_type TEXT,
    incident_type TEXT,
    incident_subtype TEXT,
    action TEXT,
    motive TEXT,
    date_start TEXT,
    date_end TEXT,
    date_reported TEXT,
    year INTEGER,
    impact_amount REAL,
    impact_currency TEXT,
    impact_records INTEGER,
    impact_description TEXT,
    outcome TEXT,
    curated INTEGER NOT NULL DEFAULT 0,
    manual_fields TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_year ON incidents(year);

CREATE TABLE incident_documents (
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    confidence REAL NOT NULL DEFAULT 1.0,
    method TEXT NOT NULL DEFAULT 'import',
    PRIMARY KEY (incident_id, document_id)
);
CREATE INDEX incident_documents_document ON incident_documents(document_id);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents(id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    court TEXT,
    case_number TEXT,
    case_type TEXT,
    case_name TEXT,
    parties TEXT,
    filed TEXT,
    terminated TEXT,
    status TEXT,
    claims TEXT,
    damages_amount REAL,
    damages_currency TEXT,
    url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (court, case_number)
);

CREATE TABLE entities (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE entity_aliases (
    alias TEXT NOT NULL,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    language TEXT,
    PRIMARY KEY (alias, entity_id)
);
CREATE TABLE document_entities (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    span_start INTEGER,
    span_end INTEGER,
    surface TEXT,
    value TEXT
);
CREATE INDEX document_entities_document ON document_entities(document_id);
CREATE INDEX document_entities_entity ON document_entities(entity_id);

-- Chunk ids are never reused, so the vector index can drop stale ids safely.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB,
    UNIQUE (document_id, seq)
);
CREATE INDEX chunks_hash ON chunks(text_hash);
CREATE INDEX chunks_pending ON chunks(id) WHERE embedding IS NULL;

CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    command TEXT,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    seen INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    message TEXT
);
CREATE TABLE run_errors (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    url TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE fetch_state (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    status INTEGER,
    sha256 TEXT,
    raw_path TEXT,
    fetched_at TEXT
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT
);

CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, text, content=documents, content_rowid=id, tokenize='trigram'
);
CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""

_M2_SEARCH = """
-- Word index (stemmed English and other alphabetic text) beside the trigram one.
CREATE VIRTUAL TABLE documents_words USING fts5(
    title, text, content=documents, content_rowid=id,
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO documents_words(rowid, title, text) SELECT id, title, text FROM documents;
CREATE TRIGGER documents_words_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_words(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER documents_words_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER documents_words_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO documents_words(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
"""

_M3_INCIDENTS = """
-- What an extracted fact is about (claim, costs, incident, dismissal, case...).
ALTER TABLE document_entities ADD COLUMN label TEXT;
-- An incident merged by hand into another keeps its row (and key) and points there.
ALTER TABLE incidents ADD COLUMN merged_into INTEGER REFERENCES incidents(id) ON DELETE SET NULL;
CREATE INDEX incident_documents_method ON incident_documents(method);
CREATE INDEX entity_aliases_entity ON entity_aliases(entity_id);
"""

_M4_PROCESSING = """
-- content_sha256 when the document was last processed (entities, facts, links): see kb.extract.pipeline.
ALTER TABLE documents ADD COLUMN processed_sha256 TEXT;
UPDATE documents SET processed_sha256 = content_sha256
WHERE EXISTS (SELECT 1 FROM incident_documents l WHERE l.document_id = documents.id)
  AND EXISTS (SELECT 1 FROM document_entities e WHERE e.document_id = documents.id);
CREATE INDEX documents_unprocessed ON documents(id) WHERE processed_sha256 IS NOT content_sha256;
-- The process that runs a run, so the next one can tell a dead run from a live one.
ALTER TABLE runs ADD COLUMN pid INTEGER;
"""

_M5_SOURCE_STATE = """
-- Where a source's walk over several runs has got to (a backfill cursor), as JSON.
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated TEXT NOT NULL
);
"""

_M6_LINK_EVIDENCE = """
-- Why a document joined an incident (JSON list of reasons); links stay explainable.
ALTER TABLE incident_documents ADD COLUMN evidence TEXT;
-- Who merged an incident into another: 'auto' (kb.incidents, redone by relink) or 'manual' (NULL: older rows).
ALTER TABLE incidents ADD COLUMN merged_by TEXT;
ALTER TABLE incidents ADD COLUMN merge_evidence TEXT;
CREATE INDEX incidents_organisation ON incidents(lower(organisation));
CREATE INDEX incidents_merged_into ON incidents(merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX cases_incident ON cases(incident_id);
-- Whether a mention is stated as fact, or as claim / denied / hypothetical / rumour; and its sentence.
ALTER TABLE document_entities ADD COLUMN status TEXT NOT NULL DEFAULT 'fact';
ALTER TABLE document_entities ADD COLUMN sentence TEXT;
-- Low-confidence "same case?" decisions, listed for review instead of merged.
CREATE TABLE link_candidates (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    evidence TEXT,
    PRIMARY KEY (document_id, incident_id)
);
-- A bottom-k sketch of each document's text shingles: near-duplicate texts found by index.
CREATE TABLE document_sketches (
    hash INTEGER NOT NULL,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    PRIMARY KEY (hash, document_id)
) WITHOUT ROWID;
CREATE INDEX document_sketches_document ON document_sketches(document_id);
"""

_M7_LEGAL_FACTS = """
-- Legal facts read from a document, each with the sentence it came from (offsets in title + blank line + text).
CREATE TABLE legal_facts (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,          -- arrest, charge, plea, verdict, sentence, settlement, claim
    status TEXT,                 -- imposed/maximum/agreed, alleged/convicted, guilty, claimed/awarded...
    sentence_type TEXT,          -- incarceration, probation, supervised_release, fine, restitution...
    statute TEXT,
    count INTEGER,
    quantity INTEGER,
    unit TEXT,
    amount REAL,
    currency TEXT,
    date TEXT,
    case_number TEXT,
    sentence TEXT NOT NULL,
    start_offset INTEGER NOT NULL,
    end_offset INTEGER NOT NULL
);
CREATE INDEX legal_facts_document ON legal_facts(document_id);
CREATE INDEX legal_facts_case_number ON legal_facts(case_number);
"""

_M8_INDEX_AUTO = """
-- Every rebuild used to record the old default "flat"; forget it so the index type follows corpus size.
DELETE FROM settings WHERE key = 'index_type' AND value = 'flat';
"""

# `kb embed --rebuild` embeds into this table and swaps the chunks only when all are done.
_M9_EMBED_STAGING = """
CREATE TABLE staged_vectors (
    text_hash TEXT PRIMARY KEY,
    embedding BLOB NOT NULL
);
"""

_M10_SEGMENTED_WORDS = """
-- The word index reads Chinese segmented into words (kb.words.segment, registered on
-- every kb connection as kb_segment) so BM25 has word statistics for Chinese too.
-- documents_segmented holds the segmented title/text of documents that contain Chinese
-- (NULL where a field has none); the index's content is documents with those overlaid.
DROP TRIGGER documents_words_ai;
DROP TRIGGER documents_words_ad;
DROP TRIGGER documents_words_au;
DROP TABLE documents_words;
CREATE TABLE documents_segmented (id INTEGER PRIMARY KEY, title TEXT, text TEXT);
INSERT INTO documents_segmented(id, title, text)
    SELECT id, kb_segment(title), kb_segment(text) FROM documents
    WHERE kb_segment(title) IS NOT NULL OR kb_segment(text) IS NOT NULL;
CREATE VIEW documents_words_content AS
    SELECT d.id AS id, coalesce(s.title, d.title) AS title, coalesce(s.text, d.text) AS text
    FROM documents d LEFT JOIN documents_segmented s ON s.id = d.id;
CREATE VIRTUAL TABLE documents_words USING fts5(
    title, text, content=documents_words_content, content_rowid=id,
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO documents_words(rowid, title, text) SELECT id, title, text FROM documents_words_content;
CREATE TRIGGER documents_words_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_segmented(id, title, text)
        SELECT new.id, kb_segment(new.title), kb_segment(new.text)
        WHERE kb_segment(new.title) IS NOT NULL OR kb_segment(new.text) IS NOT NULL;
    INSERT INTO documents_words(rowid, title, text)
        SELECT id, title, text FROM documents_words_content WHERE id = new.id;
END;
CREATE TRIGGER documents_words_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
        SELECT 'delete', old.id, coalesce(s.title, old.title), coalesce(s.text, old.text)
        FROM (SELECT 1) LEFT JOIN documents_segmented s ON s.id = old.id;
    DELETE FROM documents_segmented WHERE id = old.id;
END;
CREATE TRIGGER documents_words_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_words(documents_words, rowid, title, text)
        SELECT 'delete', old.id, coalesce(s.title, old.title), coalesce(s.text, old.text)
        FROM (SELECT 1) LEFT JOIN documents_segmented s ON s.id = old.id;
    DELETE FROM documents_segmented WHERE id = old.id;
    INSERT INTO documents_segmented(id, title, text)
        SELECT new.id, kb_segment(new.title), kb_segment(new.text)
        WHERE kb_segment(new.title) IS NOT NULL OR kb_segment(new.text) IS NOT NULL;
    INSERT INTO documents_words(rowid, title, text)
        SELECT id, title, text FROM documents_words_content WHERE id = new.id;
END;
"""

_M11_TRIGRAM_CHINESE_ONLY = """
-- The trigram index serves one thing: Chinese substrings (kb.search), which the word index
-- cannot match. Documents without Chinese (kb_has_han) leave it: they are most of a VCDB or
-- DOJ import, and indexing every three letters of them was most of the store stage (VCDB:
-- 2,600 -> 6,000 documents/s without them). English is searched through the word index.
DROP TRIGGER documents_ai;
DROP TRIGGER documents_ad;
DROP TRIGGER documents_au;
INSERT INTO documents_fts(documents_fts) VALUES ('delete-all');
INSERT INTO documents_fts(rowid, title, text)
    SELECT id, title, text FROM documents WHERE kb_has_han(title) OR kb_has_han(text);
CREATE TRIGGER documents_ai AFTER INSERT ON documents
WHEN kb_has_han(new.title) OR kb_has_han(new.text) BEGIN
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents
WHEN kb_has_han(old.title) OR kb_has_han(old.text) BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
    VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER documents_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text)
        SELECT 'delete', old.id, old.title, old.text WHERE kb_has_han(old.title) OR kb_has_han(old.text);
    INSERT INTO documents_fts(rowid, title, text)
        SELECT new.id, new.title, new.text WHERE kb_has_han(new.title) OR kb_has_han(new.text);
END;
"""

_M12_WATCHES = """
-- Saved searches (or one incident, or one case) that say what each `kb update` added.
CREATE TABLE watches (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    query TEXT,                  -- NULL for a watch on one incident or case
    mode TEXT NOT NULL DEFAULT 'hybrid',
    by TEXT NOT NULL DEFAULT 'incident',  -- what one feed entry is: an incident, or a document
    filters TEXT NOT NULL DEFAULT '{}',  -- JSON of kb.search.filters.Filters fields
    incident_id INTEGER REFERENCES incidents(id) ON DELETE CASCADE,
    case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE,
    floor REAL,                  -- share of the query's words a document must hold (NULL: the default)
    min_similarity REAL,         -- best passage similarity that counts as a match (NULL: the default)
    checked_through TEXT NOT NULL,  -- changes up to this time (documents/incidents updated_at) are evaluated
    read_through INTEGER NOT NULL DEFAULT 0,  -- `kb watch show` has shown matches up to this id
    last_error TEXT,
    created_at TEXT NOT NULL
);
-- What a watch found: each item (a document, or one legal step of it) once, whatever reruns happen.
CREATE TABLE watch_matches (
    id INTEGER PRIMARY KEY,
    watch_id INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
    item TEXT NOT NULL,          -- 'd12', or 'd12/plea/<sha1 of its sentence>' for a legal step
    kind TEXT NOT NULL,          -- document | legal_step
    incident_id INTEGER,
    document_id INTEGER REFERENCES documents(id) ON DELETE CASCADE,
    title TEXT,
    reason TEXT NOT NULL,        -- JSON: why it matched
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    at TEXT NOT NULL,
    UNIQUE (watch_id, item)
);
CREATE INDEX documents_updated ON documents(updated_at);
CREATE INDEX incidents_updated ON incidents(updated_at);
"""

_M13_SITE = """
-- The site's table search box on incidents (Datasette's ?_search=): stemmed words of the
-- title, summary, organisation and insider, kept level with incidents by triggers.
CREATE VIRTUAL TABLE incidents_fts USING fts5(
    title, summary, organisation, insider_name, content=incidents, content_rowid=id,
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO incidents_fts(rowid, title, summary, organisation, insider_name)
    SELECT id, title, summary, organisation, insider_name FROM incidents;
CREATE TRIGGER incidents_fts_ai AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts(rowid, title, summary, organisation, insider_name)
    VALUES (new.id, new.title, new.summary, new.organisation, new.insider_name);
END;
CREATE TRIGGER incidents_fts_ad AFTER DELETE ON incidents BEGIN
    INSERT INTO incidents_fts(incidents_fts, rowid, title, summary, organisation, insider_name)
    VALUES ('delete', old.id, old.title, old.summary, old.organisation, old.insider_name);
END;
CREATE TRIGGER incidents_fts_au AFTER UPDATE OF title, summary, organisation, insider_name ON incidents BEGIN
    INSERT INTO incidents_fts(incidents_fts, rowid, title, summary, organisation, insider_name)
    VALUES ('delete', old.id, old.title, old.summary, old.organisation, old.insider_name);
    INSERT INTO incidents_fts(rowid, title, summary, organisation, insider_name)
    VALUES (new.id, new.title, new.summary, new.organisation, new.insider_name);
END;
-- The slim listings a person scans: incidents that are not merged away, and documents,
-- with the columns that fit a screen (the wide tables stay one click away).
CREATE VIEW incident_list AS
    SELECT id, title, organisation, incident_type, year, country, insider_role, sector
    FROM incidents WHERE merged_into IS NULL;
CREATE VIEW document_list AS
    SELECT id, title, source, kind, published, language FROM documents;
"""

_M14_SCOPE_STATUS_AMOUNTS = """
-- Whether an incident is in the field, and why (kb.incidents.scope): 'in' | 'out' | 'unsure'.
ALTER TABLE incidents ADD COLUMN scope TEXT;
ALTER TABLE incidents ADD COLUMN scope_reason TEXT;
-- The latest legal step of an incident or case (kb.incidents.legal_status), its date and source sentence.
ALTER TABLE incidents ADD COLUMN legal_status TEXT;
ALTER TABLE incidents ADD COLUMN legal_status_date TEXT;
ALTER TABLE incidents ADD COLUMN legal_status_document INTEGER REFERENCES documents(id) ON DELETE SET NULL;
ALTER TABLE incidents ADD COLUMN legal_status_sentence TEXT;
-- A case keeps the status its record states (status); its latest step is derived beside it.
ALTER TABLE cases ADD COLUMN decided TEXT;
ALTER TABLE cases ADD COLUMN legal_status TEXT;
ALTER TABLE cases ADD COLUMN legal_status_date TEXT;
ALTER TABLE cases ADD COLUMN legal_status_document INTEGER REFERENCES documents(id) ON DELETE SET NULL;
ALTER TABLE cases ADD COLUMN legal_status_sentence TEXT;
-- impact_amount and damages_amount are derived from one kind of amount; these name it.
ALTER TABLE incidents ADD COLUMN impact_kind TEXT;
ALTER TABLE cases ADD COLUMN damages_kind TEXT;
CREATE INDEX incidents_scope ON incidents(scope) WHERE merged_into IS NULL;
-- Each amount a document states, with its kind and sentence: what the record says ('source': a
-- curated entry's amounts) or what was read from its text ('extracted').
CREATE TABLE amounts (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('claimed', 'awarded', 'restitution', 'fine', 'settlement',
                                       'loss_reported', 'loss_alleged')),
    amount REAL NOT NULL,
    currency TEXT,
    text TEXT,
    origin TEXT NOT NULL CHECK (origin IN ('source', 'extracted'))
);
CREATE INDEX amounts_document ON amounts(document_id);
-- The slim incident listing shows where each incident stands.
DROP VIEW incident_list;
CREATE VIEW incident_list AS
    SELECT id, title, organisation, incident_type, year, country, insider_role, sector, scope, legal_status
    FROM incidents WHERE merged_into IS NULL;
"""

_M15_DERIVED_PASSAGES = """
-- Passages derived from a document for retrieval only (kb.index.chunks): NULL for a passage of its
-- own text, 'en' for its English rendering (a Chinese document). The keyword stage scores them
-- with the passage index (kb.index.words.passage_index), against the passages without Chinese.
ALTER TABLE chunks ADD COLUMN derived TEXT;
-- Chinese documents are chunked again by the next `kb embed`: their own passages keep their vectors.
UPDATE documents SET chunked_sha256 = NULL WHERE language = 'zh';
"""

_M16_RENDERINGS_AGAIN = """
-- Renderings now write Chinese dates and amounts as English does (kb.text.translate: June 2024,
-- 8 million yuan): documents with derived passages are chunked again by the next `kb embed`, which
-- embeds only the passages whose text changed.
UPDATE documents SET chunked_sha256 = NULL WHERE id IN (SELECT document_id FROM chunks WHERE derived IS NOT NULL);
"""

# In order: PRAGMA user_version is the number of the last one applied.
MIGRATIONS = [_M1_CORE, _M2_SEARCH, _M3_INCIDENTS, _M4_PROCESSING, _M5_SOURCE_STATE, _M6_LINK_EVIDENCE,
              _M7_LEGAL_FACTS, _M8_INDEX_AUTO, _M9_EMBED_STAGING, _M10_SEGMENTED_WORDS, _M11_TRIGRAM_CHINESE_ONLY,
              _M12_WATCHES, _M13_SITE, _M14_SCOPE_STATUS_AMOUNTS, _M15_DERIVED_PASSAGES,
              _M16_RENDERINGS_AGAIN]
