"""Watches: saved searches (or one incident, or one case) that say what each `kb update` added.

- define: a new watch checked before it is stored
- relevance: whether one document matches a query watch (words found, passage similarity, floors)
- evaluate: every watch over what a run changed, each match recorded once (kb.storage.watches)
- feed: a watch's matches as an Atom 1.0 feed
"""
