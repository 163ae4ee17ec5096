"""Tests of the admin site as a whole: the home page and its navigation."""
