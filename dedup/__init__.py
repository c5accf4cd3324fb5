"""dedup: near-duplicate and syndication detection for news text.

``signatures(texts)`` turns raw texts into MinHash signatures (one row per text) for use
with any LSH index; the command line is ``dedup``.
"""

from dedup.hash import signatures

__all__ = ["signatures"]
