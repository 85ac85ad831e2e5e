"""Lean 4 formalization checks: response classification (``classify``), the REPL and Kimina
backends (``backends``) and the autoformalization loop with compiler and critic feedback
(``formalize``)."""
