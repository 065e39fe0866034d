"""Scenarios: the one source of truth for the scenario format, from YAML file to frozen objects.

Owns the schema (frozen dataclasses in :mod:`sim.scenario.schema`, with the unit and meaning of
every key in field metadata), reading YAML and CSV tables with their origins
(:mod:`sim.scenario.load`), ``extends`` and region packs, validation driven by the schema (types,
ranges, references between ids; one clear error naming file, key path and value), dumping and
hashing, the JSON Schema for editors (:mod:`sim.scenario.jsonschema`) and the generated key
reference of ``docs/scenarios.md``. May import only the foundation modules (``sim.errors``):
no engine, no kernels, no results.
"""
