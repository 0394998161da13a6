"""Text: what every part of the knowledge base reads documents with.

- scripts: writing-system ranges (Han, kana, Hangul) and their patterns
- html, charset, article, wechat: pages to clean text and metadata
- dates, numbers, language: dates, numbers and amounts of money, the language of a text
- sentences: the one sentence splitter
- segment, lexicon: Chinese words, and the bilingual lexicon of this field
- translate: Chinese read as English word by word (query glosses, derived passages of documents)
- scan: fast pattern scans (a pattern tried only where its literal prefixes occur)
- reading: files read with a size cap
"""
