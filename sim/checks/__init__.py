"""Validation checks that run the engine against closed-form results from the literature."""
