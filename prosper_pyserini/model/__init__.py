"""PROSPER model: sparse encoders (PROSPER, SPLADE, SP-LLM), the dense baseline, LRN, LFW and losses."""

from .dense import DenseConfig, DenseEncoder
from .encoder import EncoderBase, SparseConfig, SparseEncoder, SparseOutput, load_encoder

__all__ = ["DenseConfig", "DenseEncoder", "EncoderBase", "SparseConfig", "SparseEncoder", "SparseOutput",
           "load_encoder"]
