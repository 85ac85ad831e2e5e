"""The one exception type users see: its message is a single clear sentence, never a traceback."""


class HardforgeError(Exception):
    """An error the user can cause and fix (bad input, bad config, bad SQL, busy warehouse)."""

    exit_code = 2


class NothingToTrain(HardforgeError):
    """A training run has no rows for its role (no fresh proposer seed, no curriculum): the CLI
    says so; a nightly skips its train stage and records why."""
