"""Project overrides of Django's locale formats (FORMAT_MODULE_PATH); only the names set here change."""
