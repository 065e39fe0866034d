"""Scenario configuration: frozen schema objects, YAML loading/dumping and validation."""
