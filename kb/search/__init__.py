"""Search: hybrid search by incident or document, in English and Chinese.

- searcher: the Searcher (connections, model, index, threads) and its one `search`
- modes: the registry of search modes (hybrid, semantic, keyword, and any entry point)
- query, gloss: what a query says (words, lexicon wordings, a Chinese query's English gloss)
- keyword, semantic, fusion: the two ranked lists and their fusion
- present, hits, filters: what a hit shows, the hit types, filters and argument checks
- state, threads: what a connection keeps between searches; threads of a search
- evaluate: recall@k, hit@5 and MRR of labelled queries
"""
