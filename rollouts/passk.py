"""The unbiased pass@k estimator (Chen et al., 2021), in its numerically stable form."""

from __future__ import annotations

from math import comb


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


def screened_pass_at_ks(first: int, n: int, c: int, ks: list[int]) -> dict[int, float]:
    """pass@k (k <= ``first``) of a two-stage measurement: ``first`` samples, and the remaining
    ``n - first`` only when the first ones were neither all wrong nor all right.

    The plain c/n is biased under that stopping rule (a problem that happens to start with a wrong
    streak is cut short at 0). Unbiased: the first stage's own estimate, pass_at_k(first, c1, k);
    here it is Rao-Blackwellized on the total c (sufficient given the stage reached), which keeps
    it unbiased and lowers its variance: the mean of pass_at_k(first, j, k) over the first-stage
    counts j in 1..first-1 that can make up c, weighted hypergeometrically C(first, j) C(rest, c-j).
    Stopped (n == first): c is 0 or ``first`` and the estimate is 0 or 1. k > ``first`` has no
    unbiased estimator under this design and is left out."""
    if n == first:
        if c not in (0, first):
            raise ValueError(f"a screen of {first} stops only at 0 or {first} correct, got c={c}")
        return {k: float(c == first) for k in ks if k <= first}
    rest = n - first
    if rest <= 0 or not 0 < c < n:
        raise ValueError(f"need first < n and 0 < c < n for a continued screen, got first={first}, n={n}, c={c}")
    weights = {j: comb(first, j) * comb(rest, c - j) for j in range(max(1, c - rest), min(first - 1, c) + 1)}
    total = sum(weights.values())
    return {k: sum(w * pass_at_k(first, j, k) for j, w in weights.items()) / total for k in ks if k <= first}


def pooled_rounds(previous: dict[int, float], rounds: int, current: dict[int, float]) -> dict[int, float]:
    """Pool another round's unbiased estimates with the mean of ``rounds`` earlier ones, each
    round weighted equally (a weight that depended on how far a screened round went would bring
    the stopping rule's bias back). Only the k both sides estimate are kept."""
    return {k: (rounds * previous[k] + current[k]) / (rounds + 1) for k in current if k in previous}
