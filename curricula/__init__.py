"""Curricula: select by a pass-rate band for a policy, order them (a stable shuffle by default, or
hardest first), export shards."""
