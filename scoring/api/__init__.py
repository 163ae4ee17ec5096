"""REST API of the scoring app; it also extends the partnerships initiative API with scores and scoring actions."""
