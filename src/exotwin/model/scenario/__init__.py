"""Scenario files to results: schema, loading and validation, readouts and checks, runs and
their outputs."""
