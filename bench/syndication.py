"""A seeded syndication crawl with ground truth, made from real prose.

Source stories are real text read at run time, never copied into the repository:

- the news seeds (``seeds/``), where 003 is a real human rewrite of 001 and 000, 002 and 004
  are other articles on the same subject;
- the Clough & Stevenson corpus (``../shared/data/clough-stevenson``), if present: the five
  Wikipedia sources, their cut/light/heavy answers (real human rewrites) and the "non" answers
  (real same-topic articles written without the source). Two "cut" answers (g2pE_taskc,
  g4pD_taskb) copy a part of Wikipedia that is not in the provided source and are left out;
- the prose of the Python documentation shipped with the interpreter: the language reference
  (``pydoc_data.topics``) and the docstrings of the standard library. A topic or module yields
  several stories from different paragraphs, which are same-topic hard negatives of each other.

Each syndicated story keeps its original (earliest date) and gets copies made the way outlets
make them (``LEVELS``); every copy also gets outlet boilerplate or a new headline by chance.
Other stories stay alone as hard negatives. Truth: clusters (story + copies), pairs original ->
copy labelled related with the character spans copied, and same-topic pairs labelled unrelated.

    python bench/syndication.py --docs 10000 --seed 1 --out DIR   # DIR/crawl.jsonl, truth files
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import pickle
import random
import re
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import blingfire

__all__ = ["LEVELS", "Story", "generate", "stories", "write"]

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CLOUGH = ROOT.parent / "shared" / "data" / "clough-stevenson"
UNREACHABLE = {"g2pE_taskc", "g4pD_taskb"}
#: Installed packages whose docstrings also give prose (skipped when not installed).
PACKAGES = ("numpy", "scipy", "pandas", "pyspark")
CACHE = ROOT / "bench" / ".cache"
#: Bump when the way stories are extracted changes (invalidates the cache).
POOL_VERSION = 3

#: Copy kinds, with their share of the copies.
LEVELS = {
    "verbatim": 0.08, "trimmed": 0.12, "boilerplate": 0.10, "headline": 0.06, "edited": 0.14,
    "light": 0.16, "heavy": 0.12, "passage": 0.10, "ocr": 0.12,
}


@dataclass
class Story:
    """A source article: a topic, a headline and paragraphs of sentences."""

    id: str
    topic: str
    title: str
    paragraphs: list[list[str]]
    fixed_text: str | None = None  # a real document used as is (seeds, Clough)


@dataclass
class Doc:
    """A crawl document being built: a headline and (sentence, origin unit or -1) paragraphs."""

    title: tuple[str, int]
    paragraphs: list[list[tuple[str, int]]]
    head: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- sources


def _sentences(paragraph: str) -> list[str]:
    return [s for s in blingfire.text_to_sentences(paragraph).split("\n") if s.strip()]


def _prose(text: str) -> list[list[str]]:
    """Unindented prose paragraphs of a reST-like text, as sentences."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or lines[0].startswith((" ", "\t")) or any(
                marker in block for marker in ("::=", ">>>", "***", "===", "---", "|")):
            continue
        para = " ".join(line.strip() for line in lines)
        if len(para.split()) >= 12 and para.endswith("."):
            out.append(_sentences(para))
    return out


def _chunks(topic: str, paragraphs: list[list[str]], prefix: str) -> list[Story]:
    """Cut a topic's paragraphs into stories of at least 6 sentences."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for para in paragraphs:
        current.append(para)
        if sum(map(len, current)) >= 6 and len(current) >= 3:
            found.append(current)
            current = []
    title = topic.replace("-", " ").replace("_", " ").replace(".", " ").strip().title()
    return [Story(f"{prefix}{topic}#{n}", topic, title, paras) for n, paras in enumerate(found)]


def _docstrings(root: Path, files: list[Path], prefix: str) -> list[Story]:
    found = []
    for path in files:
        if any(part in ("test", "tests", "idlelib", "site-packages") for part in
               path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        paragraphs = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    paragraphs += _prose(doc)
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        found += _chunks(module, paragraphs, prefix)
    return found


def _python_stories() -> list[Story]:
    """Stories from the Python reference, the standard library and large installed packages."""
    import pydoc_data.topics as topics

    found = []
    for name, text in sorted(topics.topics.items()):
        found += _chunks(name, _prose(text), "ref:")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found += _docstrings(stdlib, sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")),
                         "lib:")
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin is not None:
            root = Path(spec.origin).parent
            found += _docstrings(root.parent, sorted(root.rglob("*.py")), "pkg:")
    return found


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _fixed(sid: str, topic: str, text: str) -> Story:
    paragraphs = [_sentences(p) for p in text.split("\n") if p.strip()]
    title, paragraphs[0] = paragraphs[0][0], paragraphs[0][1:]
    return Story(sid, topic, title, [p for p in paragraphs if p], fixed_text=text)


def _locate(text: str, units: list[str]) -> list[tuple[int, int, int]]:
    """Spans of the units of a real document in its text, in order."""
    spans, pos = [], 0
    for origin, unit in enumerate(units):
        at = text.find(unit, pos)
        if at >= 0:
            spans.append((at, at + len(unit), origin))
            pos = at + len(unit)
    return spans


class _Novel:
    """Keeps sentences whose words overlap no kept sentence's words by 30% or more (Jaccard).

    Real sources repeat themselves (reference docs restate a rule in several sections); a
    sentence too close to one already kept would make two "independent" stories share a
    passage, so the truth would call real reuse unrelated.
    """

    def __init__(self) -> None:
        self.kept: list[set[str]] = []
        self.by_word: dict[str, list[int]] = {}

    def add(self, sentence: str) -> bool:
        words = {w for w in re.findall(r"[a-z0-9]+", sentence.lower()) if len(w) > 2}
        if len(words) < 3:
            return False
        rare = sorted(words, key=lambda w: len(self.by_word.get(w, ())))[:4]
        for number in {n for w in rare for n in self.by_word.get(w, ())}:
            other = self.kept[number]
            if len(words & other) >= 0.3 * len(words | other):
                return False
        for word in words:
            self.by_word.setdefault(word, []).append(len(self.kept))
        self.kept.append(words)
        return True


def _headline(topic: str, paragraphs: list[list[str]]) -> str:
    """A headline: the subject, then the first words of the lead sentence."""
    subject = topic.split(".")[-1].replace("-", " ").replace("_", " ").strip().title()
    lead = " ".join(paragraphs[0][0].split()[:7]).rstrip(",.;:")
    return f"{subject}: {lead}"


def stories() -> tuple[list[Story], dict[str, list[tuple[str, str]]]]:
    """Every source story, and the real human rewrites of some of them.

    Returns:
        The stories (deduplicated by sentence) and, per story id, (text, level) of real rewrites
        (level ``human-cut`` etc., or ``non`` for a same-topic article written without it).
    """
    found: list[Story] = []
    human: dict[str, list[tuple[str, str]]] = {}
    seeds = {p.name[:3]: p for p in sorted(SEEDS.glob("*.txt"))}
    for key in ("000", "001", "002", "004"):
        if key in seeds:
            found.append(_fixed(f"seed:{key}", "s-400", _read(seeds[key])))
    if "001" in seeds and "003" in seeds:
        human["seed:001"] = [(_read(seeds["003"]), "human-rewrite")]
    info = CLOUGH / "file_information.csv"
    if info.exists():
        for row in csv.DictReader(info.open(encoding="utf-8")):
            name, task, level = row["File"].removesuffix(".txt"), row["Task"], row["Category"]
            if level == "orig" or name in UNREACHABLE:
                continue
            text = _read(CLOUGH / row["File"])
            human.setdefault(f"clough:{task}", []).append(
                (text, "non" if level == "non" else f"human-{level}"))
        for task in "abcde":
            found.append(_fixed(f"clough:{task}", f"clough-{task}",
                                _read(CLOUGH / f"orig_task{task}.txt")))
    novel = _Novel()
    for story in found:
        for para in story.paragraphs:
            for sentence in para:
                novel.add(sentence)
    for story in _python_stories():  # a sentence (or a near copy of it) belongs to one story
        paragraphs = [[s for s in p if novel.add(s)] for p in story.paragraphs]
        paragraphs = [p for p in paragraphs if p]
        if sum(map(len, paragraphs)) >= 6:
            found.append(Story(story.id, story.topic, _headline(story.topic, paragraphs),
                               paragraphs))
    return found, human


# --------------------------------------------------------------------------- rewriting

_SYNONYMS = {
    "about": "regarding", "above": "over", "according": "as per", "additional": "further",
    "allow": "permit", "allows": "permits", "also": "additionally", "announced": "declared",
    "appear": "seem", "approximately": "roughly", "argument": "parameter",
    "arguments": "parameters",
    "ask": "request", "attempt": "try", "begin": "start", "begins": "starts", "big": "large",
    "buy": "purchase", "called": "named", "cannot": "can not", "change": "alter",
    "changed": "altered", "changes": "alterations", "check": "verify", "choose": "select",
    "common": "frequent", "complete": "full", "concern": "worry", "confirmed": "verified",
    "consider": "regard", "considered": "regarded", "contain": "hold", "contains": "holds",
    "create": "make", "created": "made", "creates": "makes", "currently": "presently",
    "defence": "defense", "define": "specify", "defined": "specified", "deliver": "supply",
    "delivery": "supply", "described": "outlined", "despite": "in spite of", "develop": "build",
    "different": "distinct", "discussions": "talks", "display": "show", "during": "throughout",
    "each": "every", "easy": "simple", "element": "item", "elements": "items", "end": "finish",
    "enough": "sufficient", "error": "fault", "errors": "faults", "especially": "particularly",
    "evaluate": "assess", "evaluated": "assessed", "example": "instance", "exist": "be present",
    "expected": "anticipated", "explain": "clarify", "fast": "quick", "final": "last",
    "find": "locate", "first": "initial", "following": "subsequent", "frequently": "often",
    "get": "obtain", "give": "provide", "given": "provided", "gives": "provides", "good": "fine",
    "help": "assist", "helps": "assists", "however": "nevertheless", "important": "significant",
    "include": "comprise", "includes": "comprises", "including": "such as", "increase": "rise",
    "indicate": "signal", "information": "details", "initial": "first", "instead": "rather",
    "invoked": "called", "large": "big", "later": "afterwards", "main": "principal",
    "major": "key", "many": "numerous", "method": "technique", "methods": "techniques",
    "modify": "change", "move": "step", "must": "has to", "near": "close to", "need": "require",
    "needed": "required", "needs": "requires", "new": "fresh", "normally": "usually",
    "note": "observe", "number": "count", "object": "entity", "objects": "entities",
    "obtain": "get", "occur": "happen", "occurs": "happens", "official": "functionary",
    "often": "frequently", "operation": "mission", "part": "portion", "perform": "carry out",
    "performance": "showing", "possible": "feasible", "possibly": "perhaps", "previous": "prior",
    "primary": "main", "problem": "issue", "produce": "generate", "program": "programme",
    "provide": "supply", "provided": "supplied", "provides": "supplies", "purchase": "acquisition",
    "quickly": "rapidly", "raise": "throw", "raised": "thrown", "receive": "get",
    "regarding": "concerning", "remove": "delete", "removed": "deleted", "replace": "substitute",
    "reported": "stated", "represent": "stand for", "require": "need", "required": "needed",
    "requires": "needs", "result": "outcome", "results": "outcomes", "return": "give back",
    "returned": "given back", "returns": "gives back", "said": "stated", "select": "choose",
    "several": "a number of", "show": "display", "shown": "displayed", "significant": "notable",
    "similar": "alike", "simple": "basic", "since": "because", "small": "little",
    "specific": "particular", "specified": "given", "start": "begin", "state": "condition",
    "statement": "declaration", "strengthen": "bolster", "such": "these", "suggest": "propose",
    "supply": "provision", "support": "back", "system": "platform", "systems": "platforms",
    "talks": "negotiations", "tell": "inform", "therefore": "thus", "try": "attempt",
    "typically": "usually", "understand": "grasp", "unless": "except if", "use": "employ",
    "used": "employed", "uses": "employs", "using": "employing", "usually": "normally",
    "value": "quantity", "values": "quantities", "various": "diverse", "very": "highly",
    "want": "wish", "whole": "entire", "within": "inside", "without": "lacking", "work": "function",
}
_TENSE = {"is": "was", "are": "were", "has": "had", "have": "had", "will": "would", "can": "could",
          "does": "did", "do": "did", "was": "is", "were": "are"}
_FRAMES = ["It was reported that {s}", "Sources said that {s}", "{S}, it was noted.",
           "According to the report, {s}", "{S}, officials added."]
_WORD = re.compile(r"[A-Za-z]+")


def _case_like(word: str, new: str) -> str:
    return new[:1].upper() + new[1:] if word[:1].isupper() else new


def _reword(sentence: str, rng: random.Random, p_syn: float, p_tense: float) -> str:
    def sub(match: re.Match[str]) -> str:
        word = match.group()
        low = word.lower()
        if low in _SYNONYMS and rng.random() < p_syn:
            return _case_like(word, _SYNONYMS[low])
        if low in _TENSE and rng.random() < p_tense:
            return _case_like(word, _TENSE[low])
        return word

    return _WORD.sub(sub, sentence)


def _frame(sentence: str, rng: random.Random) -> str:
    body = sentence.rstrip(".!? ")
    if not body:
        return sentence
    frame = rng.choice(_FRAMES)
    lower = body[0].lower() + body[1:] if body[1:2].islower() else body
    out = frame.replace("{s}", lower).replace("{S}", body)
    return out if out.endswith((".", "!", "?")) else out + "."


def light(sentence: str, rng: random.Random) -> str:
    """Light rewording: some synonyms, tense changes, now and then reported speech."""
    out = _reword(sentence, rng, 0.5, 0.5)
    return _frame(out, rng) if rng.random() < 0.25 else out


def heavy(sentence: str, rng: random.Random) -> list[str]:
    """Heavy rewording: clauses reordered or dropped, most synonyms, sometimes split in two."""
    body = sentence.rstrip(".!? ")
    clauses = [c.strip() for c in re.split(r",\s+|;\s+|\s+(?:and|but|which)\s+", body) if c.strip()]
    if len(clauses) > 2 and rng.random() < 0.5:
        del clauses[rng.randrange(1, len(clauses))]
    rng.shuffle(clauses)
    clauses = [_reword(c, rng, 0.9, 0.7) for c in clauses]
    if len(clauses) >= 2 and rng.random() < 0.4:
        cut = len(clauses) // 2
        parts = [", ".join(clauses[:cut]), ", ".join(clauses[cut:])]
    else:
        parts = [", and ".join(clauses) if len(clauses) == 2 else ", ".join(clauses)]
    return [p[:1].upper() + p[1:] + "." for p in parts if p]


_OCR = [("rn", "m"), ("m", "rn"), ("l", "1"), ("I", "l"), ("o", "0"), ("e", "c"), ("h", "b"),
        ("cl", "d"), ("u", "v"), (",", "."), ("i", "í")]


def ocr(sentence: str, rng: random.Random, rate: float = 0.03) -> str:
    """OCR-like noise: confusable characters, lost or doubled spaces, hyphenated line breaks."""
    out, i = [], 0
    while i < len(sentence):
        if rng.random() < rate:
            kind = rng.random()
            if kind < 0.6:
                for old, new in _OCR:
                    if sentence.startswith(old, i):
                        out.append(new)
                        i += len(old)
                        break
                else:
                    out.append(sentence[i])
                    i += 1
                continue
            if sentence[i] == " ":
                out.append("" if kind < 0.8 else "  ")
                i += 1
                continue
            if kind > 0.95 and sentence[i].isalpha():
                out.append("-\n")
        out.append(sentence[i])
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------- documents

_OUTLETS = ["The Daily Ledger", "Metro Courier", "Northern Star", "Capital Gazette",
            "Harbour Times", "Valley Herald", "Evening Standard Wire", "Global Dispatch",
            "Morning Chronicle", "The Observer Post", "Coastal News", "Summit Tribune",
            "Frontier Press", "Lakeside Journal", "Central Bulletin", "Riverside Review"]
_INTROS = ["By Staff | {o}", "{o} — Syndicated", "Exclusive to {o}", "Newswire | {o}"]
_OUTROS = ["This story was originally published by a partner newswire and is republished by "
           "{o} under a content sharing agreement.",
           "Sign up for the {o} morning newsletter to receive the top stories of the day in your "
           "inbox.", "Copyright {o}. All rights reserved.",
           "Follow {o} on social media for breaking news, analysis and opinion from our "
           "correspondents around the world."]


def _units(story: Story) -> list[str]:
    """Title then sentences: the units an original is made of (origin numbers index these)."""
    return [story.title] + [s for p in story.paragraphs for s in p]


def _original(story: Story) -> Doc:
    n = 1
    paragraphs = []
    for para in story.paragraphs:
        paragraphs.append([(s, n + k) for k, s in enumerate(para)])
        n += len(para)
    return Doc((story.title, 0), paragraphs)


def _render(doc: Doc) -> tuple[str, list[tuple[int, int, int]]]:
    """Text of a document and the (start, end, origin) of every unit with an origin."""
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    pos = 0

    def add(text: str, origin: int, sep: str) -> None:
        nonlocal pos
        if parts:
            parts.append(sep)
            pos += len(sep)
        parts.append(text)
        if origin >= 0:
            spans.append((pos, pos + len(text), origin))
        pos += len(text)

    for line in doc.head:
        add(line, -1, "\n")
    add(doc.title[0], doc.title[1], "\n\n" if doc.head else "")
    for para in doc.paragraphs:
        for k, (sentence, origin) in enumerate(para):
            add(sentence, origin, " " if k else "\n\n")
    for line in doc.tail:
        add(line, -1, "\n\n")
    return "".join(parts), spans


def _map_sentences(doc: Doc, fn: Callable[[str, int], list[str]]) -> Doc:
    paragraphs = [[(new, origin) for s, origin in para for new in fn(s, origin)]
                  for para in doc.paragraphs]
    return Doc(doc.title, [p for p in paragraphs if p], doc.head, doc.tail)


def _copy(story: Story, level: str, rng: random.Random, host: Story | None) -> Doc:
    doc = _original(story)
    paras = doc.paragraphs
    if level == "trimmed":
        keep = rng.randint(max(1, len(paras) // 3), max(1, len(paras) - 1))
        doc = Doc(doc.title, paras[:keep])
    elif level == "edited":
        flat = [[u for u in p if rng.random() > 0.2] or p[:1] for p in paras]
        for _ in range(max(1, len(flat) // 3)):
            i = rng.randrange(len(flat))
            flat[i] = flat[i][1:] + flat[i][:1] if rng.random() < 0.5 else flat[i]
            j = rng.randrange(len(flat))
            flat[i], flat[j] = flat[j], flat[i]
        doc = Doc(doc.title, flat)
    elif level == "light":
        doc = _map_sentences(doc, lambda s, _o: [light(s, rng)])
    elif level == "heavy":
        doc = _map_sentences(doc, lambda s, _o: heavy(s, rng) if rng.random() < 0.6
                             else [light(s, rng)])
    elif level == "ocr":
        doc = _map_sentences(doc, lambda s, _o: [ocr(s, rng)])
    elif level == "passage":
        assert host is not None
        units = [u for p in paras for u in p]
        size = min(len(units), rng.randint(2, 4))
        start = rng.randrange(len(units) - size + 1)
        passage = units[start:start + size]
        other = [[(s, -1) for s in p] for p in host.paragraphs]
        at = rng.randint(1, max(1, len(other) - 1))
        doc = Doc((host.title, -1), [*other[:at], passage, *other[at:]])
    if level in ("headline", "passage") or rng.random() < 0.3:
        words = doc.title[0].split()
        if level == "passage" or len(words) < 3:
            doc.title = (doc.title[0], -1) if level == "passage" else doc.title
        else:
            rng.shuffle(words)
            doc.title = (f"{rng.choice(['Update:', 'Report:', 'Analysis:', 'Explainer:'])} "
                         f"{' '.join(words[: max(3, len(words) // 2)])}", -1)
    if level == "boilerplate" or rng.random() < 0.4:
        outlet = rng.choice(_OUTLETS)
        doc.head = [rng.choice(_INTROS).format(o=outlet)]
        number = _OUTLETS.index(outlet)
        doc.tail = [_OUTROS[number % len(_OUTROS)].format(o=outlet)]
        if rng.random() < 0.3:
            doc.tail.append(f"Copyright {outlet}.")
    return doc


def _cases(spans: list[tuple[int, int, int]], source: dict[int, tuple[int, int]]
           ) -> list[dict[str, list[int]]]:
    """Merge units copied in order (consecutive origins, consecutive in the copy) into passages."""
    out: list[list[int]] = []
    last = -2
    for start, end, origin in spans:
        s0, s1 = source[origin]
        if out and origin in (last, last + 1):
            out[-1][1], out[-1][3] = end, max(out[-1][3], s1)
        else:
            out.append([start, end, s0, s1])
        last = origin
    return [{"a": [s0, s1], "b": [b0, b1]} for b0, b1, s0, s1 in out]


def generate(n_docs: int, seed: int = 1) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Generate a crawl of ``n_docs`` documents and its ground truth.

    Args:
        n_docs: Documents in the crawl.
        seed: Seed of every random choice; equal seeds give equal crawls.

    Returns:
        ``docs`` (dicts with id, text, date, in crawl order) and ``truth`` with ``clusters``
        (``{"members": [...], "story": ...}``), ``pairs`` (``{"a", "b", "label", "level"}``, with
        ``passages`` when the copied spans are known) and ``levels`` (copy id -> level).
    """
    rng = random.Random(seed)
    pool, human = _cached_stories()
    by_topic: dict[str, list[Story]] = {}
    for story in pool:
        by_topic.setdefault(story.topic, []).append(story)
    topics = sorted(by_topic)
    rng.shuffle(topics)
    use_human = n_docs >= 1000
    fixed = [t for t in topics if t == "s-400" or t.startswith("clough")]
    order = (fixed if use_human else []) + [t for t in topics if t not in fixed]
    ordered = [s for t in order for s in by_topic[t]]
    # About one story in three stays alone; the rest are syndicated, with copies to fill n_docs.
    n_human = sum(len(v) for v in human.values()) if use_human else 0
    # Host articles for embedded passages are kept out of the crawl's originals: a copy that
    # embeds a passage in a host's text reuses that host, so a host that was also an original
    # would join two true clusters.
    n_hosts = max(1, len(ordered) // 8)
    n_stories = min(len(ordered) - n_hosts, max(2, round((n_docs - n_human) / 3.5)))
    chosen = ordered[:n_stories]
    hosts = ordered[n_stories:]
    syndicated = [s for s in chosen if s.fixed_text is not None or rng.random() < 0.67]
    budget = max(0, n_docs - n_human - len(chosen))
    copies = {s.id: 0 for s in syndicated}
    weights = [min(rng.paretovariate(2.0), 20.0) for _ in syndicated]
    for sid in rng.choices([s.id for s in syndicated], weights, k=budget) if syndicated else []:
        copies[sid] += 1
    levels, names = list(LEVELS), list(LEVELS.values())
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    docs: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    level_of: dict[str, str] = {}

    def add(text: str, when: datetime) -> str:
        doc_id = f"d{len(docs):06d}"
        docs.append({"id": doc_id, "text": text, "date": when.isoformat().replace("+00:00", "Z")})
        return doc_id

    def stamp() -> datetime:
        return start + timedelta(minutes=rng.randrange(365 * 24 * 60))

    host_at = 0
    original_of: dict[str, str] = {}
    for story in chosen:
        when = stamp()
        doc = _original(story)
        if story.fixed_text is not None:
            text, spans = story.fixed_text, _locate(story.fixed_text, _units(story))
        else:
            text, spans = _render(doc)
        source = {origin: (s, e) for s, e, origin in spans}
        original = add(text, when)
        original_of[story.id] = original
        members = [original]
        for copy_text, level in human.get(story.id, []) if use_human else []:
            copy_id = add(copy_text, when + timedelta(hours=rng.randint(1, 96)))
            level_of[copy_id] = level
            if level == "non":  # a real same-topic article: a hard negative
                pairs.append({"a": original, "b": copy_id, "label": False, "level": level})
                continue
            members.append(copy_id)
            pairs.append({"a": original, "b": copy_id, "label": True, "level": level})
        for _ in range(copies.get(story.id, 0)):
            level = rng.choices(levels, names)[0]
            if level == "passage" and host_at >= len(hosts):
                level = "edited"  # every host carries one passage at most (see above)
            host = hosts[min(host_at, len(hosts) - 1)]
            host_at += level == "passage"
            copy = _copy(story, level, rng, host)
            copy_text, copy_spans = _render(copy)
            copy_id = add(copy_text, when + timedelta(minutes=rng.randint(5, 72 * 60)))
            members.append(copy_id)
            level_of[copy_id] = level
            record: dict[str, Any] = {"a": original, "b": copy_id, "label": True, "level": level}
            cases = _cases([sp for sp in copy_spans if sp[2] in source], source)
            if cases:
                record["passages"] = cases
            pairs.append(record)
        if len(members) > 1:
            clusters.append({"members": members, "story": story.id})
    for topic in order:  # same-topic originals in different clusters: hard negative pairs
        ids = [original_of[s.id] for s in by_topic[topic] if s.id in original_of]
        for a, b in itertools.pairwise(ids):
            pairs.append({"a": a, "b": b, "label": False, "level": "same-topic"})
    rng.shuffle(docs)
    return docs, {"clusters": clusters, "pairs": pairs, "levels": level_of}


@lru_cache(maxsize=1)
def _cached_stories() -> tuple[list[Story], dict[str, list[tuple[str, str]]]]:
    """:func:`stories`, cached on disk per Python and package versions (parsing takes ~30 s)."""
    versions = [sys.version]
    for package in PACKAGES:
        try:
            versions.append(f"{package}={importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    sources = sorted(str(p.stat().st_mtime_ns) for p in [*SEEDS.glob("*.txt"), CLOUGH])
    key = hashlib.sha256(repr((POOL_VERSION, versions, sources)).encode())
    path = CACHE / f"stories-{key.hexdigest()[:16]}.pickle"
    if path.exists():
        with path.open("rb") as fh:
            plain, human = pickle.load(fh)
            return [Story(**record) for record in plain], human
    found, human = stories()
    CACHE.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(([dataclasses.asdict(story) for story in found], human), fh)
    return found, human


def write(docs: list[dict[str, Any]], truth: dict[str, Any], out: Path) -> None:
    """Write ``crawl.jsonl``, ``truth_clusters.jsonl``, ``truth_pairs.jsonl``, ``levels.json``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, records in (("crawl.jsonl", docs), ("truth_clusters.jsonl", truth["clusters"]),
                          ("truth_pairs.jsonl", truth["pairs"])):
        with (out / name).open("w", encoding="utf-8") as fh:
            for record in records:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "levels.json").write_text(json.dumps(truth["levels"], indent=0), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a crawl and write it with its truth."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents in the crawl")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    docs, truth = generate(args.docs, args.seed)
    write(docs, truth, args.out)
    print(f"{len(docs)} documents, {len(truth['clusters'])} clusters, {len(truth['pairs'])} "
          f"labelled pairs -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
