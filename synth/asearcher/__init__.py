"""ASearcher (Gao et al. 2025): hard, uniquely answerable QA grown from a linked corpus by injection and fuzzing."""
