"""SvS: self-play variational problem synthesis (Liang et al., 2025; shared/specs/methods.md §1)."""
