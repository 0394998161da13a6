"""Scrapers: one small declarative module per source (the SDK is kb/scraper.py).

A scraper never touches the database or the network: `kb.scrape` fetches the
requests it asks for through `kb.fetch`, hands it the responses, and stores
the records it returns. Scrapers are registered under the `kb.scrapers` entry
point group, so a package can add a source without touching kb.
"""
