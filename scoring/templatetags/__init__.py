"""Template tags of the scoring app."""
