"""The bundled model's data: a deterministic synthetic set of captioned coloured shapes, and held-out
evaluations on it with queries whose true matches are known.

vocabulary (words and records) <- captions (true captions) <- generator (images, samples, files)
<- evaluation (model figures, relevance queries); copies (photos and the near-duplicates a library
collects) and parity (the model parity checks' inputs) stand alone.
"""

from .captions import by_colour_and_kind, caption, with_article
from .copies import COPY_TRANSFORMS, PHOTOS, STEREO, photo, procedural, write_copies
from .evaluation import (
    EVAL_SEED,
    EVAL_SIZE,
    RELEVANCE_SEED,
    RELEVANCE_SIZE,
    background_queries,
    colour_shape_queries,
    eval_set,
    evaluate_model,
    image_top3,
    precision_at_k,
    relevance_queries,
)
from .generator import generate, sample, write
from .parity import PARITY_TEXTS, parity_images
from .vocabulary import COLOURS, COUNTS, KINDS, POSITIONS, SIZES, Sample, Shape, matches

__all__ = ["COLOURS", "COUNTS", "EVAL_SEED", "EVAL_SIZE", "KINDS", "POSITIONS", "RELEVANCE_SEED", "RELEVANCE_SIZE"]
__all__ += ["SIZES", "Sample", "Shape", "background_queries", "by_colour_and_kind", "caption", "colour_shape_queries"]
__all__ += ["eval_set", "evaluate_model", "generate", "image_top3", "matches", "precision_at_k", "relevance_queries"]
__all__ += ["sample", "with_article", "write", "COPY_TRANSFORMS", "PARITY_TEXTS", "PHOTOS", "STEREO", "parity_images"]
__all__ += ["photo", "procedural", "write_copies"]
