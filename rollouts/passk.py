"""The unbiased pass@k estimator (Chen et al., 2021), in its numerically stable form."""

from __future__ import annotations


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct)
    is correct: ``1 - C(n-c, k) / C(n, k)``, computed as a product to avoid huge binomials."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    product = 1.0
    for j in range(n - c + 1, n + 1):
        product *= 1.0 - k / j
    return 1.0 - product


def pass_at_ks(n: int, c: int, ks: list[int]) -> dict[int, float]:
    """pass@k for each configured k that n samples can estimate (k <= n)."""
    return {k: pass_at_k(n, c, k) for k in ks if k <= n}
