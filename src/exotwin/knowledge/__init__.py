"""The evidence graph: curated, cited records of both reviews, with query and exports."""

from .errors import KnowledgeError, KnowledgeValidationError, Problem, UnknownEntityError
from .kb import KnowledgeBase, Record
from .loader import load_knowledge, packaged_data_dir
from .provenance import non_stated_fields

__all__ = [
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeValidationError",
    "Problem",
    "Record",
    "UnknownEntityError",
    "load_knowledge",
    "non_stated_fields",
    "packaged_data_dir",
]
