"""Synthesis methods: the contract (``synth.base``), the shared runner (``synth.runner``) and one
folder per method, registered here with one line each."""

from __future__ import annotations

from synth.asearcher.method import AsearcherSynthesizer
from synth.azr.method import AzrSynthesizer
from synth.base import Synthesizer
from synth.mathsmith.method import MathsmithSynthesizer
from synth.sqlm.method import SqlmSynthesizer
from synth.svs.method import SvsSynthesizer

METHODS: dict[str, type[Synthesizer]] = {
    "svs": SvsSynthesizer,
    "sqlm": SqlmSynthesizer,
    "azr": AzrSynthesizer,
    "mathsmith": MathsmithSynthesizer,
    "asearcher": AsearcherSynthesizer,
}

__all__ = ["METHODS", "Synthesizer"]
