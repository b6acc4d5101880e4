"""The late-interaction course's helpers: everything the notebooks import, nothing else.

Notebooks start with ``helpers.setup()``; see README.md for the model profiles.
"""

from .course import label, setup
from .edge import edge_points, edge_shard
from .embedding import embed_documents
from .evaluation import evaluate_run
from .exercises import check
from .maxsim import explain_maxsim, maxsim, maxsim_scores, maxsim_scores_batch, pack_documents
from .models import COLBERT_MODEL, CROSS_ENCODER_MODEL, DENSE_MODEL
from .pipelines import CorpusIndex, course_index, rrf, run_from_rankings, run_pipeline
from .pooling import pool_tokens
from .plots import plot_contributions, plot_similarity_matrix
from .queries import load_queries
from .qdrant import multivector_points, qdrant_client, recreate_collection, search
from .tables import table
from .timing import ms_per_query
from .tokens import token_labels

__all__ = [
    "setup",
    "check",
    "label",
    "embed_documents",
    "load_queries",
    "evaluate_run",
    "CorpusIndex",
    "course_index",
    "rrf",
    "run_from_rankings",
    "run_pipeline",
    "pool_tokens",
    "table",
    "maxsim",
    "maxsim_scores",
    "maxsim_scores_batch",
    "explain_maxsim",
    "pack_documents",
    "token_labels",
    "plot_similarity_matrix",
    "plot_contributions",
    "qdrant_client",
    "recreate_collection",
    "multivector_points",
    "search",
    "edge_shard",
    "edge_points",
    "ms_per_query",
    "DENSE_MODEL",
    "CROSS_ENCODER_MODEL",
    "COLBERT_MODEL",
]
