"""Business operations of the scoring app (services write, selectors read)."""
