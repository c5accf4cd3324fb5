/* The compiled normalize stage: the content terms of every sentence of a text, as hashed
 * entries, computed as dedup/normalize.py's Python path computes them (tests/test_normalize.py
 * compares the two).
 *
 * Only the part that runs per word is here. A sentence of ASCII, Latin-1 letters and common
 * news punctuation (curly quotes, dashes; see simple()) is case-folded and split into words
 * as normalize._WORD splits it, and each word is looked up in a table of the words seen
 * (WordTable) holding its term, term hash and weight, or no term. What a word means (stop
 * word, stem, rarity, hash) is decided in Python, once per distinct word, by the ``miss``
 * callable; any other sentence goes to Python's content_terms whole (``other``). So the
 * rules live in one place, and this file only splits words and keeps, per sentence, each term
 * once with its largest weight, in order of first occurrence.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint64_t *term;
    double *weight;
    PyObject **key; /* the term string of each entry, compared by identity (interned) */
    Py_ssize_t n, cap;
    int32_t *slot;  /* open addressing over the current sentence's entries: index or -1 */
    Py_ssize_t slots; /* allocated */
    Py_ssize_t mask;  /* slots in use by the current sentence, minus 1 (a power of two) */
} Entries;

static int reserve(Entries *e, Py_ssize_t more) {
    if (e->n + more <= e->cap) return 0;
    Py_ssize_t cap = e->cap ? e->cap : 256;
    while (cap < e->n + more) cap *= 2;
    uint64_t *t = PyMem_Realloc(e->term, cap * sizeof *t);
    if (t) e->term = t;
    double *w = PyMem_Realloc(e->weight, cap * sizeof *w);
    if (w) e->weight = w;
    PyObject **k = PyMem_Realloc(e->key, cap * sizeof *k);
    if (k) e->key = k;
    if (!t || !w || !k) {
        PyErr_NoMemory();
        return -1;
    }
    e->cap = cap;
    return 0;
}

/* Start a sentence of at most ``words`` terms: an empty table of at least twice as many slots. */
static int begin(Entries *e, Py_ssize_t words) {
    Py_ssize_t want = 16;
    while (want < 2 * words) want *= 2;
    if (want > e->slots) {
        int32_t *s = PyMem_Realloc(e->slot, want * sizeof *s);
        if (!s) {
            PyErr_NoMemory();
            return -1;
        }
        e->slot = s;
        e->slots = want;
    }
    memset(e->slot, 0xff, want * sizeof *e->slot);
    e->mask = want - 1;
    return reserve(e, words);
}

/* Add a term to the current sentence, or raise its weight when the sentence has it. The table
 * in use has at least twice as many slots as the sentence can hold terms (see begin), so a
 * probe always ends. */
static void put(Entries *e, PyObject *key, uint64_t term, double weight) {
    Py_ssize_t mask = e->mask, i = (Py_ssize_t)(term & (uint64_t)mask);
    for (;; i = (i + 1) & mask) {
        int32_t at = e->slot[i];
        if (at < 0) break;
        if (e->term[at] == term && e->key[at] == key) {
            if (weight > e->weight[at]) e->weight[at] = weight;
            return;
        }
    }
    if (!(weight > 0.0)) return; /* as content_terms: a term enters with a positive weight */
    e->slot[i] = (int32_t)e->n;
    e->term[e->n] = term;
    e->weight[e->n] = weight;
    e->key[e->n] = key;
    e->n++;
}

/* What a character of a sentence read here becomes: NFKC and casefold, as content_terms
 * applies them, for the characters this file reads (see simple()). Letters are lower-cased,
 * the apostrophe U+2019 becomes ', which joins words as it does (``[-'’]``), and the
 * punctuation listed in simple() becomes a space. */
static inline Py_UCS4 fold(Py_UCS4 c) {
    if (c < 128) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE) return c + 32; /* À-Þ (simple() lets no × through) */
    if (c >= 0xDF && c <= 0xFF) return c;      /* à-ÿ */
    return c == 0x2019 ? '\'' : ' ';
}

/* Whether content_terms of a sentence holding this character equals what this file computes:
 * ASCII; the Latin-1 letters, which NFKC leaves alone and casefold lower-cases (not ß, which
 * casefolds to "ss"); U+2019; and punctuation that NFKC keeps a non-word character: no-break
 * space, ‘ “ ” « » – — and …. */
static inline int simple(Py_UCS4 c) {
    if (c < 128 || c == 0x2019) return 1;
    if (c >= 0xC0 && c <= 0xFF) return c != 0xD7 && c != 0xF7 && c != 0xDF;
    switch (c) {
    case 0xA0: case 0xAB: case 0xBB: case 0x2013: case 0x2014: case 0x2018: case 0x201C:
    case 0x201D: case 0x2026:
        return 1;
    }
    return 0;
}

/* \w after fold(): ASCII letters, digits and the underscore, and the Latin-1 letters. */
static inline int is_word(Py_UCS4 c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c >= 0xC0 && c <= 0xFF);
}

/* The word cache: what miss() said of each word seen, in an open-addressing table of the
 * folded word's bytes (up to WORD_MAX; longer words are not cached), so that a word seen
 * before costs one probe and no Python object. It replaced a dict from word to tuple, whose
 * lookups (a new str per word, its hash, the key's and the tuple's objects) took most of the
 * time of terms() on a warm cache. */
#define WORD_MAX 22

typedef struct {
    uint64_t key;     /* hash of the word, never 0; 0 marks an empty slot */
    PyObject *term;   /* the interned term (owned), or NULL for a word that is no term */
    uint64_t term_hash;
    double weight;
    uint8_t len;
    char word[WORD_MAX + 1];
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Py_ssize_t mask, count; /* slots - 1 (a power of two), words held */
} WordTable;

static uint64_t word_key(const Py_UCS1 *word, Py_ssize_t len) {
    uint64_t h = UINT64_C(0xCBF29CE484222325) ^ (uint64_t)len;
    for (Py_ssize_t i = 0; i < len; i++) h = (h ^ word[i]) * UINT64_C(0x100000001B3);
    h ^= h >> 29;
    return h ? h : 1;
}

/* The slot of a word: where it is held, or the empty slot where it would go. */
static Slot *find(const WordTable *t, uint64_t key, const Py_UCS1 *word, Py_ssize_t len) {
    for (Py_ssize_t i = (Py_ssize_t)(key & (uint64_t)t->mask);; i = (i + 1) & t->mask) {
        Slot *slot = &t->slots[i];
        if (!slot->key || (slot->key == key && slot->len == len && !memcmp(slot->word, word, len)))
            return slot;
    }
}

static int table_grow(WordTable *t) {
    Py_ssize_t size = t->slots ? 2 * (t->mask + 1) : 4096;
    Slot *slots = PyMem_Calloc((size_t)size, sizeof *slots);
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    Slot *old = t->slots;
    Py_ssize_t old_size = old ? t->mask + 1 : 0;
    t->slots = slots;
    t->mask = size - 1;
    for (Py_ssize_t i = 0; i < old_size; i++)
        if (old[i].key) *find(t, old[i].key, (const Py_UCS1 *)old[i].word, old[i].len) = old[i];
    PyMem_Free(old);
    return 0;
}

static void table_clear(WordTable *t) {
    for (Py_ssize_t i = 0; t->slots && i <= t->mask; i++) Py_XDECREF(t->slots[i].term);
    if (t->slots) memset(t->slots, 0, (size_t)(t->mask + 1) * sizeof *t->slots);
    t->count = 0;
}

static void table_dealloc(WordTable *t) {
    table_clear(t);
    PyMem_Free(t->slots);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static Py_ssize_t table_len(WordTable *t) { return t->count; }

static PyObject *table_clear_method(WordTable *t, PyObject *Py_UNUSED(ignored)) {
    table_clear(t);
    Py_RETURN_NONE;
}

static PyMethodDef table_methods[] = {
    {"clear", (PyCFunction)table_clear_method, METH_NOARGS, "Forget every word."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods table_sequence = {.sq_length = (lenfunc)table_len};

static PyTypeObject WordTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "dedup._normalize.WordTable",
    .tp_doc = "WordTable()\n--\n\nWhat terms() learnt of each word (the word cache of one seed).",
    .tp_basicsize = sizeof(WordTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_as_sequence = &table_sequence,
    .tp_methods = table_methods,
};

/* The word lookup: the cache and the miss callable. The cache takes no more than limit words;
 * the terms of words it does not take stay alive in keep until the call ends, since entries
 * compare their terms by identity. */
typedef struct {
    WordTable *cache;
    PyObject *miss, *keep;
    Py_ssize_t limit;
} Words;

/* What miss(word) says of word[:len]: the term (borrowed from the cache or keep; NULL for no
 * term), its hash and weight. Returns -1 on error. */
static int lookup_word(const Words *lookup, const Py_UCS1 *word, Py_ssize_t len,
                       PyObject **term, uint64_t *term_hash, double *weight) {
    WordTable *t = lookup->cache;
    uint64_t key = 0;
    Slot *slot = NULL;
    if (len <= WORD_MAX) {
        if (!t->slots && table_grow(t)) return -1;
        key = word_key(word, len);
        slot = find(t, key, word, len);
        if (slot->key) {
            *term = slot->term;
            *term_hash = slot->term_hash;
            *weight = slot->weight;
            return 0;
        }
    }
    PyObject *text = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, word, len);
    PyObject *found = text ? PyObject_CallOneArg(lookup->miss, text) : NULL;
    Py_XDECREF(text);
    if (!found) return -1;
    *term = NULL;
    *term_hash = 0;
    *weight = 0.0;
    if (found != Py_None) {
        if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3
                || !PyUnicode_Check(PyTuple_GET_ITEM(found, 0))) {
            PyErr_SetString(PyExc_TypeError, "miss must return None or (term, hash, weight)");
            Py_DECREF(found);
            return -1;
        }
        *term = PyTuple_GET_ITEM(found, 0);
        *term_hash = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(found, 1));
        *weight = PyFloat_AsDouble(PyTuple_GET_ITEM(found, 2));
        if (PyErr_Occurred()) {
            Py_DECREF(found);
            return -1;
        }
    }
    int bad = 0;
    if (slot && t->count < lookup->limit) {
        if (2 * (t->count + 1) > t->mask + 1) {
            bad = table_grow(t);
            slot = bad ? NULL : find(t, key, word, len);
        }
        if (slot) {
            slot->key = key;
            slot->len = (uint8_t)len;
            memcpy(slot->word, word, (size_t)len);
            slot->term = *term;
            Py_XINCREF(*term);
            slot->term_hash = *term_hash;
            slot->weight = *weight;
            t->count++;
        }
    } else if (*term) {
        bad = PyList_Append(lookup->keep, *term);
    }
    Py_DECREF(found); /* the cache or keep holds the term */
    return bad ? -1 : 0;
}

/* Add the terms of sentence text[s:e], all of whose characters are simple(); returns -1 on
 * error. ``buf`` holds at least e - s characters. */
static int simple_sentence(Entries *out, const void *data, int kind, Py_ssize_t s, Py_ssize_t e,
                           const Words *lookup, Py_UCS1 *buf) {
    if (begin(out, (e - s + 1) / 2)) return -1; /* a word takes a character and a gap */
    Py_ssize_t i = s;
    while (i < e) {
        if (!is_word(fold(PyUnicode_READ(kind, data, i)))) {
            i++;
            continue;
        }
        Py_ssize_t j = i;
        for (;;) { /* \w+(?:[-'’]\w+)* */
            while (j < e && is_word(fold(PyUnicode_READ(kind, data, j)))) j++;
            Py_UCS4 joint = j + 1 < e ? fold(PyUnicode_READ(kind, data, j)) : 0;
            if ((joint == '-' || joint == '\'') && is_word(fold(PyUnicode_READ(kind, data, j + 1))))
                j++;
            else
                break;
        }
        for (Py_ssize_t k = i; k < j; k++) buf[k - i] = (Py_UCS1)fold(PyUnicode_READ(kind, data, k));
        PyObject *term;
        uint64_t hash;
        double weight;
        if (lookup_word(lookup, buf, j - i, &term, &hash, &weight)) return -1;
        i = j;
        if (term) put(out, term, hash, weight);
    }
    return 0;
}

/* Add the (hash, weight) pairs that Python's ``other`` returns for sentence text[s:e]. */
static int other_sentence(Entries *out, PyObject *text, Py_ssize_t s, Py_ssize_t e,
                          PyObject *other) {
    PyObject *sentence = PyUnicode_Substring(text, s, e);
    if (!sentence) return -1;
    PyObject *got = PyObject_CallOneArg(other, sentence);
    Py_DECREF(sentence);
    PyObject *seq = got ? PySequence_Fast(got, "other must return a sequence") : NULL;
    Py_XDECREF(got);
    if (!seq) return -1;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(seq);
    int bad = reserve(out, m);
    for (Py_ssize_t k = 0; k < m && !bad; k++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, k);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "other must return (hash, weight) pairs");
            bad = 1;
            break;
        }
        out->term[out->n] = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(pair, 0));
        out->weight[out->n] = PyFloat_AsDouble(PyTuple_GET_ITEM(pair, 1));
        out->key[out->n] = NULL;
        out->n++;
        bad = PyErr_Occurred() != NULL;
    }
    Py_DECREF(seq);
    return bad ? -1 : 0;
}

PyDoc_STRVAR(terms_doc,
"terms(text, spans, cache, limit, miss, other)\n"
"--\n\n"
"Return (term hashes, weights, terms per sentence) as bytes of uint64, float64 and int64\n"
"for the sentences text[start:end] of spans, a sequence of (start, end). A sentence of\n"
"ASCII, Latin-1 letters and common punctuation is case-folded and split into words; each\n"
"word is looked up in the WordTable cache, where a miss stores miss(word): None or\n"
"(interned term, hash, weight), while the cache holds fewer than limit words. Per sentence each term\n"
"is kept once, first-seen order, with its largest weight. Any other sentence is\n"
"other(sentence): its (hash, weight) pairs, in order.");

static PyObject *terms(PyObject *self, PyObject *args) {
    PyObject *text, *spans_obj, *other;
    Words lookup;
    if (!PyArg_ParseTuple(args, "UOO!nOO", &text, &spans_obj, &WordTableType, &lookup.cache,
                          &lookup.limit, &lookup.miss, &other))
        return NULL;
    PyObject *spans = PySequence_Fast(spans_obj, "spans must be a sequence");
    if (!spans) return NULL;
    if (!(lookup.keep = PyList_New(0))) {
        Py_DECREF(spans);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(spans), len = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Entries out = {0};
    int64_t *sizes = PyMem_Malloc((n ? n : 1) * sizeof *sizes);
    Py_UCS1 *buf = PyMem_Malloc(len ? len : 1);
    PyObject *result = NULL;
    if (!sizes || !buf) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        Py_ssize_t s, e;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(spans, r), "nn", &s, &e)) goto done;
        if (s < 0 || e < s || e > len) {
            PyErr_Format(PyExc_ValueError, "span (%zd, %zd) is outside the text", s, e);
            goto done;
        }
        Py_ssize_t before = out.n, k = s;
        while (k < e && simple(PyUnicode_READ(kind, data, k))) k++;
        if (k == e ? simple_sentence(&out, data, kind, s, e, &lookup, buf)
                   : other_sentence(&out, text, s, e, other))
            goto done;
        sizes[r] = out.n - before;
    }
    /* Not Py_BuildValue("y#"): it gives None for the NULL buffers of a text without terms. */
    PyObject *t = PyBytes_FromStringAndSize((const char *)out.term, out.n * 8);
    PyObject *w = PyBytes_FromStringAndSize((const char *)out.weight, out.n * 8);
    PyObject *z = PyBytes_FromStringAndSize((const char *)sizes, n * 8);
    if (t && w && z) result = PyTuple_Pack(3, t, w, z);
    Py_XDECREF(t);
    Py_XDECREF(w);
    Py_XDECREF(z);
done:
    Py_DECREF(spans);
    Py_DECREF(lookup.keep);
    PyMem_Free(out.term);
    PyMem_Free(out.weight);
    PyMem_Free(out.key);
    PyMem_Free(out.slot);
    PyMem_Free(sizes);
    PyMem_Free(buf);
    return result;
}

static PyMethodDef methods[] = {
    {"terms", terms, METH_VARARGS, terms_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "dedup._normalize",
                                    "Compiled normalize stage of dedup.", -1, methods};

PyMODINIT_FUNC PyInit__normalize(void) {
    if (PyType_Ready(&WordTableType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddObjectRef(m, "WordTable", (PyObject *)&WordTableType) < 0) Py_CLEAR(m);
    return m;
}
