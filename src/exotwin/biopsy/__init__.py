"""Liquid-biopsy analytics: read, normalise, test, classify and score knowledge signatures."""

from .errors import BiopsyError, BiopsyInputError
from .readers import Dataset, read_data

__all__ = ["BiopsyError", "BiopsyInputError", "Dataset", "read_data"]
