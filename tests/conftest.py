"""Shared fixtures."""
pytest_plugins = ["tests.golden_plugin"]
