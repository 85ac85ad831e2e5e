"""Synthesis methods, one module per method, and the shared contract (``synth.base``)."""
