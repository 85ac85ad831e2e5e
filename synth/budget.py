"""The nightly's synthesis budget in generated tokens, split across methods by what each has
yielded: verified problems a later measurement found in band, per million tokens, over the last
nights. Every method keeps a floor, so one that starts yielding is noticed; a pure function."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# a prior of one in-band problem per million tokens, as if each method had spent that much: with no
# history the split is even, and one night of nothing does not starve a method
PRIOR_IN_BAND, PRIOR_MTOK = 1.0, 1.0


@dataclass(frozen=True)
class Yield:
    tokens: int = 0  # completion tokens spent
    in_band: int = 0  # verified problems measured in band afterwards

    def __add__(self, other: Yield) -> Yield:
        return Yield(self.tokens + other.tokens, self.in_band + other.in_band)

    @property
    def per_mtok(self) -> float:
        """In-band problems per million tokens, smoothed by the prior."""
        return (self.in_band + PRIOR_IN_BAND) / (self.tokens / 1e6 + PRIOR_MTOK)


def allocate(budget: int, methods: list[str], history: dict[str, Yield], floor: float) -> dict[str, int]:
    """Tokens per method: ``floor`` of the budget each (at most an even split), the rest in
    proportion to each method's smoothed in-band yield per million tokens."""
    if not methods:
        return {}
    floor = min(max(floor, 0.0), 1.0 / len(methods))
    base = int(budget * floor)
    rest = budget - base * len(methods)
    rates = {m: history.get(m, Yield()).per_mtok for m in methods}
    total = sum(rates.values())
    return {m: base + int(rest * rates[m] / total) for m in methods}


def combined(nights: Iterable[dict[str, dict[str, int]]]) -> dict[str, Yield]:
    """The yields of several nights' records (``{method: {"tokens": ..., "in_band": ...}}``) summed per method."""
    out: dict[str, Yield] = {}
    for night in nights:
        for method, figures in (night or {}).items():
            out[method] = out.get(method, Yield()) + Yield(
                int(figures.get("tokens", 0)), int(figures.get("in_band", 0))
            )
    return out


def share_seconds(seconds: float | None, tokens: dict[str, int] | None, methods: list[str]) -> dict[str, float] | None:
    """Each method's share of the night's synthesis seconds, as its share of the tokens (evenly
    without a token budget): a night ends in time whatever a method's tokens cost (a 1.5B checker's
    are slower than the policy's). The synthesis stage passes what a method leaves on to the next."""
    if seconds is None or not methods:
        return None
    weights = tokens if tokens is not None else dict.fromkeys(methods, 1)
    total = sum(weights.get(m, 0) for m in methods)
    return {m: (seconds * weights.get(m, 0) / total if total else 0.0) for m in methods}
