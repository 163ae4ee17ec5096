"""The web process's garbage collector (config/wsgi.py): what a gunicorn worker loaded is frozen.

A gunicorn worker imports ``config.wsgi`` (``gunicorn config.wsgi``, with or without ``-c config/gunicorn.py``);
a fresh Python importing it is what a worker does after the fork.
"""

from tests.test_settings import _python_json

CODE = (
    "import gc, json; before = gc.get_threshold(); import config.wsgi; "
    "print(json.dumps({'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold(), 'before': before}))"
)


def test_loading_the_wsgi_app_freezes_what_it_loaded():
    out = _python_json(CODE)
    assert out["frozen"] > 50_000  # the app's modules, models and URL patterns (a bare Python: none)
    assert out["threshold"] == out["before"]  # Python's own thresholds: raising them measured no faster
