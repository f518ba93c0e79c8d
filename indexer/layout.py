"""File names inside one build directory."""

ARTICLES = "articles.jsonl"
CHUNKS = "chunks.jsonl"
VECTORS = "vectors.npy"
DENSE = "dense.faiss"
LEXICAL = "bm25"
CONFIG_FILES = ("_dictionary.txt", "_synonyms.txt")
