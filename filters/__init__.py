"""Filters: one small class per filter returning keep/drop with a reason per problem (datatrove's
pattern), one registry, and the runner (``filters.runner``) that records every verdict in
``filter_verdicts`` with the filter's config hash. Adding a filter is one class and one line here."""

from __future__ import annotations

from filters.base import KEEP, Filter, Verdict
from filters.decontam import DecontaminationFilter
from filters.dedup import ExactDedupFilter, NearDedupFilter
from filters.lean import LeanFilter
from filters.validity import ValidityFilter

# In the order they run: each sees only the survivors of the ones before it.
FILTERS: dict[str, type[Filter]] = {
    f.name: f for f in (ValidityFilter, ExactDedupFilter, NearDedupFilter, DecontaminationFilter, LeanFilter)
}

__all__ = ["FILTERS", "KEEP", "Filter", "Verdict"]
