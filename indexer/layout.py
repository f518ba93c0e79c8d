"""File names inside one build directory."""

ARTICLES = "articles.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
DENSE = "dense.faiss"
LEXICAL = "bm25"
# Copied into each build: the analyzer's two files, then the taxonomy the service checks filters against.
CONFIG_FILES = ("_dictionary.txt", "_synonyms.txt", "_taxonomy.yaml")
