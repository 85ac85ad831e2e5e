"""MathSmith (Zhan et al. 2025): hard problems written from sampled concepts, kept when the solvers agree."""
