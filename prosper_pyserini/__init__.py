"""prosper-pyserini: LLMs as learned sparse retrievers for product search, on Anserini/Pyserini."""

__version__ = "0.1.0"
