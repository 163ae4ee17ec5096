"""Settings split per environment: base, local (default for manage.py), test, production."""
