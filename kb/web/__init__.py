"""The Datasette site (`kb serve`): a plugin over a read-only `KB`.

- plugin: the Datasette hooks (entry point `datasette: kb`); app: the site as `kb serve` builds it
- search_page, functions: /-/kb-search and its JSON; kb_search() and kb_search_incidents() in SQL
- pages, report, charts, cells: incident, document and case pages, the overview, its SVG charts, table cells
- cache, errors, finding: the answer cache, error pages, which database
- datasette.yaml, templates/: the site's metadata, canned queries and templates
"""
