"""Type stubs of the compiled normalize stage (dedup/_normalize.c)."""

from collections.abc import Callable, Sequence

def terms(text: str, spans: Sequence[tuple[int, int]],
          cache: dict[str, tuple[str, int, float] | None], limit: int,
          miss: Callable[[str], tuple[str, int, float] | None],
          other: Callable[[str], list[tuple[int, float]]]) -> tuple[bytes, bytes, bytes]: ...
