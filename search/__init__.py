"""pixseek's read side: queries against a library, near-duplicates and curation.

It reuses the model layer of `indexer` (the text tower for queries); see shared/DESIGN.md.
"""
