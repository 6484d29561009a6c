"""Shared test set-up; pytest puts ``src`` and this folder on ``sys.path`` (pyproject.toml)."""
