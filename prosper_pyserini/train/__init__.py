"""Trainer for PROSPER and its baselines (``prosper-train``)."""
