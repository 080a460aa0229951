"""PROSPER model: sparse encoders (PROSPER, SPLADE, SP-LLM), the dense baseline, LRN, LFW and losses."""

from .base import EncoderBase
from .dense import DenseConfig, DenseEncoder
from .encoder import SparseConfig, SparseEncoder, SparseOutput
from .loading import load_encoder

__all__ = ["DenseConfig", "DenseEncoder", "EncoderBase", "SparseConfig", "SparseEncoder", "SparseOutput",
           "load_encoder"]
