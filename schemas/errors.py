"""The one exception type users see: its message is a single clear sentence, never a traceback."""


class HardforgeError(Exception):
    """An error the user can cause and fix (bad input, bad config, bad SQL, busy warehouse)."""

    exit_code = 2
