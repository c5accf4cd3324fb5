"""Type stubs of the compiled normalize stage (dedup/_normalize.c)."""

from collections.abc import Callable, Sequence

class WordTable:
    """What :func:`terms` learnt of each word (the word cache of one seed)."""

    def __len__(self) -> int: ...
    def clear(self) -> None: ...

def terms(text: str, spans: Sequence[tuple[int, int]], cache: WordTable, limit: int,
          miss: Callable[[str], tuple[str, int, float] | None],
          other: Callable[[str], list[tuple[int, float]]]) -> tuple[bytes, bytes, bytes]: ...
