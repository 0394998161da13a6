"""Insider Incident KB: insider incidents in tech from news and court records, with semantic search."""

__version__ = "0.1.0"
