/* The compiled hashing core: raw texts to word n-gram hashes, n-gram hashes to
 * one-permutation MinHash bins and their densification, and small sets to classic
 * k-permutation MinHash rows.
 *
 * It computes exactly what the NumPy path of dedup/shingle.py and dedup/hash.py computes
 * (tests/test_shingle.py compares them on every code point, tests/test_hash.py on random
 * sets), one pass over each text and no Python object per token. Everything the hashes
 * depend on (the code-point table, the seed keys, the n-gram weights, the polynomial base,
 * the permutations) comes from Python, so the constants live in one place. Inputs and outputs
 * are buffers (NumPy arrays), so building needs only a C compiler and the Python headers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define CODE_MASK ((UINT64_C(1) << 21) - 1)
#define CJK_BIT (UINT64_C(1) << 21)
#define MARK_BIT (UINT64_C(1) << 22)
#define PYTHON_BIT (UINT64_C(1) << 23)
#define EXPAND_BIT (UINT64_C(1) << 24)

/* Flags returned per text: its hashes are missing and Python must normalise it first. */
enum { SETTLED = 0, NEEDS_NFKC = 1, NEEDS_EXPAND = 2 };

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xFF51AFD7ED558CCD);
    x ^= x >> 33;
    x *= UINT64_C(0xC4CEB9FE1A85EC53);
    x ^= x >> 33;
    return x;
}

typedef struct {
    const uint64_t *table;   /* 0x110000 code-point values (see shingle._table) */
    const uint64_t *weights; /* ngram odd weights */
    uint64_t base, token_key, ngram_key;
    Py_ssize_t ngram;
    uint64_t *ring;          /* 2 * ngram slots for the last ngram token hashes */
    uint64_t *out;           /* n-gram hashes, appended */
} Shingler;

/* Tokenise and hash one text (see shingle.py's module docstring for the token rules),
 * appending its n-gram hashes at out + *n_out. Returns a flag; on anything but SETTLED
 * no hash of the text is kept. Everything lives in locals: stores through out and ring
 * would otherwise make the compiler reload the settings after each one. */
static inline __attribute__((always_inline)) int
shingle_text(const Shingler *s, Py_ssize_t *n_out, const void *data, int kind, Py_ssize_t len,
             int settled) {
    const uint64_t *restrict table = s->table, *restrict weights = s->weights;
    const uint64_t base = s->base, token_key = s->token_key, ngram_key = s->ngram_key;
    const Py_ssize_t ngram = s->ngram;
    uint64_t *restrict ring = s->ring, *restrict out = s->out;
    Py_ssize_t n = *n_out, count = 0, slot = 0;
    uint64_t poly = 0, power = 1;
    int in_word = 0;    /* the previous character belongs to a word token */
    int after_word = 0; /* the nearest preceding non-mark character is a word character */
    int expand = 0;

    /* Each token hash is stored twice, at slot and slot + ngram, so that the last ngram
     * hashes always lie in order at ring[slot + 1 .. slot + ngram]: no division per token. */
#define EMIT(token)                                                                      \
    do {                                                                                 \
        ring[slot] = ring[slot + ngram] = mix64((token) ^ token_key);                    \
        slot = slot + 1 == ngram ? 0 : slot + 1;                                         \
        if (++count >= ngram) {                                                          \
            const uint64_t *window = ring + slot;                                        \
            uint64_t acc = 0;                                                            \
            for (Py_ssize_t j = 0; j < ngram; j++) acc += window[j] * weights[j];        \
            out[n++] = mix64((acc + (uint64_t)ngram) ^ ngram_key);                       \
        }                                                                                \
    } while (0)

    for (Py_ssize_t i = 0; i < len; i++) {
        uint64_t v = table[PyUnicode_READ(kind, data, i)];
        if (v < CJK_BIT) { /* 0 or a word character: nearly all of them */
            /* Selects, not branches: the only branch left is where a token ends, one
             * unpredictable branch per token instead of two or three. */
            int word = v != 0;
            if (in_word && !word) EMIT(poly);
            power = in_word ? power : 1;
            poly = in_word ? poly : 0;
            poly += v * power;
            power *= base;
            in_word = after_word = word;
            continue;
        }
        if (v >= PYTHON_BIT) {
            if ((v & PYTHON_BIT) && !settled) return NEEDS_NFKC;
            expand |= (v & EXPAND_BIT) != 0;
            v &= ~(PYTHON_BIT | EXPAND_BIT);
        }
        uint64_t code = v & CODE_MASK;
        if (v & MARK_BIT) {
            if (after_word) { /* joins the word before it; otherwise it joins no token */
                poly += code * power;
                power *= base;
            }
        } else if (v & CJK_BIT) {
            if (in_word) EMIT(poly);
            EMIT(code);
            in_word = after_word = 0;
        } else if (code) { /* a word character that only needed its flags cleared */
            if (!in_word) {
                poly = 0;
                power = 1;
            }
            poly += code * power;
            power *= base;
            in_word = after_word = 1;
        } else {
            if (in_word) EMIT(poly);
            in_word = after_word = 0;
        }
    }
    if (in_word) EMIT(poly);
#undef EMIT
    if (expand) return NEEDS_EXPAND;
    if (count && count < ngram) { /* one shingle of all tokens */
        uint64_t acc = 0;
        for (Py_ssize_t j = 0; j < count; j++) acc += ring[j] * weights[j];
        out[n++] = mix64((acc + (uint64_t)count) ^ ngram_key);
    }
    *n_out = n;
    return SETTLED;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t min_bytes, int writable,
                      const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)))
        return -1;
    if (view->len < min_bytes) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, needs %zd", name, view->len,
                     min_bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(shingles_doc,
"shingles(texts, settled, table, weights, base, token_key, ngram_key, values, offsets, flags)\n"
"--\n\n"
"Write the n-gram hashes of each text into values (uint64), each text's start and the end\n"
"into offsets (intp, len(texts) + 1) and a flag per text into flags (uint8): 0 done,\n"
"1 needs NFKC, 2 needs multi-character casefolds (no hashes kept). settled (uint8 per text)\n"
"marks texts already normalised. values must hold sum(len(t)) + len(texts) items.\n"
"Returns the number of values written.");

static PyObject *shingles(PyObject *self, PyObject *args) {
    PyObject *texts, *settled_obj, *table_obj, *weights_obj, *values_obj, *offsets_obj,
        *flags_obj;
    unsigned long long base, token_key, ngram_key;
    if (!PyArg_ParseTuple(args, "O!OOOKKKOOO", &PyList_Type, &texts, &settled_obj, &table_obj,
                          &weights_obj, &base, &token_key, &ngram_key, &values_obj,
                          &offsets_obj, &flags_obj))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts), chars = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "text %zd is %s, not str", i, Py_TYPE(text)->tp_name);
            return NULL;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(text)) return NULL;
#endif
        chars += PyUnicode_GET_LENGTH(text);
    }
    Py_buffer settled, table, weights, values, offsets, flags;
    if (get_buffer(settled_obj, &settled, n, 0, "settled")) return NULL;
    if (get_buffer(table_obj, &table, 0x110000 * 8, 0, "table")) goto fail_table;
    if (get_buffer(weights_obj, &weights, 8, 0, "weights")) goto fail_weights;
    if (get_buffer(values_obj, &values, (chars + n) * 8, 1, "values")) goto fail_values;
    if (get_buffer(offsets_obj, &offsets, (n + 1) * (Py_ssize_t)sizeof(Py_ssize_t), 1,
                   "offsets"))
        goto fail_offsets;
    if (get_buffer(flags_obj, &flags, n, 1, "flags")) goto fail_flags;
    Py_ssize_t ngram = weights.len / 8;
    uint64_t *ring = PyMem_Malloc(2 * ngram * sizeof(uint64_t));
    if (!ring) {
        PyErr_NoMemory();
        goto fail_ring;
    }
    Shingler s = {table.buf, weights.buf, base, token_key, ngram_key, ngram, ring, values.buf};
    const uint8_t *done = settled.buf;
    Py_ssize_t *offs = offsets.buf, n_out = 0;
    uint8_t *flag = flags.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        offs[i] = n_out;
        switch (PyUnicode_KIND(text)) { /* one specialised loop per string width */
        case PyUnicode_1BYTE_KIND:
            flag[i] = shingle_text(&s, &n_out, data, PyUnicode_1BYTE_KIND, len, done[i]);
            break;
        case PyUnicode_2BYTE_KIND:
            flag[i] = shingle_text(&s, &n_out, data, PyUnicode_2BYTE_KIND, len, done[i]);
            break;
        default:
            flag[i] = shingle_text(&s, &n_out, data, PyUnicode_4BYTE_KIND, len, done[i]);
        }
    }
    offs[n] = n_out;
    PyMem_Free(ring);
    PyBuffer_Release(&flags);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&values);
    PyBuffer_Release(&weights);
    PyBuffer_Release(&table);
    PyBuffer_Release(&settled);
    return PyLong_FromSsize_t(n_out);
fail_ring:
    PyBuffer_Release(&flags);
fail_flags:
    PyBuffer_Release(&offsets);
fail_offsets:
    PyBuffer_Release(&values);
fail_values:
    PyBuffer_Release(&weights);
fail_weights:
    PyBuffer_Release(&table);
fail_table:
    PyBuffer_Release(&settled);
    return NULL;
}

/* Whether offs[0..rows] rise from 0 or more to at most `values`: rows of a values buffer. */
static int offsets_fit(const Py_ssize_t *offs, Py_ssize_t rows, Py_ssize_t values) {
    if (offs[0] < 0 || offs[rows] > values) return 0;
    for (Py_ssize_t r = 0; r < rows; r++)
        if (offs[r] > offs[r + 1]) return 0;
    return 1;
}

PyDoc_STRVAR(oph_doc,
"oph(values, offsets, key, sig)\n"
"--\n\n"
"For each row r, set sig[r, bin(v)] to the minimum of mix64(v ^ key) over the values v of\n"
"values[offsets[r]:offsets[r + 1]] that fall in that bin (the bin of a mixed value m is\n"
"((m >> 32) * num_perm) >> 32). sig (uint64, rows x num_perm) must start at the maximum.");

static PyObject *oph(PyObject *self, PyObject *args) {
    PyObject *values_obj, *offsets_obj, *sig_obj;
    unsigned long long key;
    if (!PyArg_ParseTuple(args, "OOKO", &values_obj, &offsets_obj, &key, &sig_obj)) return NULL;
    Py_buffer values, offsets, sig;
    if (get_buffer(values_obj, &values, 0, 0, "values")) return NULL;
    if (get_buffer(offsets_obj, &offsets, (Py_ssize_t)sizeof(Py_ssize_t), 0, "offsets")) {
        PyBuffer_Release(&values);
        return NULL;
    }
    if (get_buffer(sig_obj, &sig, 0, 1, "sig")) {
        PyBuffer_Release(&offsets);
        PyBuffer_Release(&values);
        return NULL;
    }
    const Py_ssize_t *offs = offsets.buf;
    Py_ssize_t rows = offsets.len / (Py_ssize_t)sizeof(Py_ssize_t) - 1;
    Py_ssize_t num_perm = rows ? sig.len / 8 / rows : 0;
    const uint64_t *v = values.buf;
    uint64_t *out = sig.buf;
    int bad = rows && (num_perm < 1 || num_perm * rows * 8 != sig.len ||
                       !offsets_fit(offs, rows, values.len / 8));
    for (Py_ssize_t r = 0; r < rows && !bad; r++) {
        uint64_t *row = out + r * num_perm;
        for (Py_ssize_t i = offs[r]; i < offs[r + 1]; i++) {
            uint64_t m = mix64(v[i] ^ key);
            uint64_t b = ((m >> 32) * (uint64_t)num_perm) >> 32;
            uint64_t old = row[b];
            row[b] = m < old ? m : old; /* a select, not a branch: half of them would miss */
        }
    }
    PyBuffer_Release(&sig);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&values);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "offsets do not fit values and sig");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(kperm_doc,
"kperm(values, offsets, key, a, b, sig)\n"
"--\n\n"
"For each row r with values, set sig[r, j] to the minimum of a[j] * mix64(v ^ key) + b[j]\n"
"(mod 2**64) over the values v of values[offsets[r]:offsets[r + 1]]; rows without values\n"
"are left as they are. a and b hold num_perm uint64; sig (uint64, rows x num_perm) must\n"
"start at the maximum.");

static PyObject *kperm(PyObject *self, PyObject *args) {
    PyObject *values_obj, *offsets_obj, *a_obj, *b_obj, *sig_obj;
    unsigned long long key;
    if (!PyArg_ParseTuple(args, "OOKOOO", &values_obj, &offsets_obj, &key, &a_obj, &b_obj,
                          &sig_obj))
        return NULL;
    Py_buffer bufs[5];
    PyObject *objs[5] = {values_obj, offsets_obj, a_obj, b_obj, sig_obj};
    const char *names[5] = {"values", "offsets", "a", "b", "sig"};
    int got = 0;
    for (; got < 5; got++) {
        if (get_buffer(objs[got], &bufs[got], got == 1 ? (Py_ssize_t)sizeof(Py_ssize_t) : 0,
                       got == 4, names[got]))
            break;
    }
    int bad = got < 5;
    if (!bad) {
        const uint64_t *v = bufs[0].buf, *a = bufs[2].buf, *b = bufs[3].buf;
        const Py_ssize_t *offs = bufs[1].buf;
        uint64_t *out = bufs[4].buf;
        Py_ssize_t rows = bufs[1].len / (Py_ssize_t)sizeof(Py_ssize_t) - 1;
        Py_ssize_t num_perm = bufs[2].len / 8;
        bad = num_perm < 1 || bufs[3].len != bufs[2].len || num_perm * rows * 8 != bufs[4].len
              || !offsets_fit(offs, rows, bufs[0].len / 8);
        for (Py_ssize_t r = 0; r < rows && !bad; r++) {
            uint64_t *row = out + r * num_perm;
            for (Py_ssize_t i = offs[r]; i < offs[r + 1]; i++) {
                uint64_t m = mix64(v[i] ^ key);
                for (Py_ssize_t j = 0; j < num_perm; j++) {
                    uint64_t p = a[j] * m + b[j];
                    row[j] = p < row[j] ? p : row[j];
                }
            }
        }
        if (bad) PyErr_SetString(PyExc_ValueError, "offsets, a, b and sig do not fit values");
    }
    while (got-- > 0) PyBuffer_Release(&bufs[got]);
    if (bad) return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(densify_doc,
"densify(sig, probes, key)\n"
"--\n\n"
"Fill the empty bins (the maximum uint64) of each row of sig (uint64, rows x num_perm) that\n"
"has some filled bin: empty bin i takes the value of the first bin filled before this call\n"
"among its probes, probes[i, t] (intp, num_perm x attempts) at attempt t + 1, then past the\n"
"table the bin of mix64((i * 0x9E3779B97F4A7C15 + attempt) ^ key), as hash._probe computes.");

static PyObject *densify(PyObject *self, PyObject *args) {
    PyObject *sig_obj, *probes_obj;
    unsigned long long key;
    if (!PyArg_ParseTuple(args, "OOK", &sig_obj, &probes_obj, &key)) return NULL;
    Py_buffer sig, probes;
    if (get_buffer(sig_obj, &sig, 0, 1, "sig")) return NULL;
    if (get_buffer(probes_obj, &probes, 0, 0, "probes")) {
        PyBuffer_Release(&sig);
        return NULL;
    }
    Py_ssize_t num_perm = sig.ndim == 2 ? sig.shape[1] : 0;
    Py_ssize_t attempts = num_perm ? probes.len / (Py_ssize_t)sizeof(Py_ssize_t) / num_perm : 0;
    int bad = num_perm < 1 || attempts < 1 || sig.itemsize != 8
              || attempts * num_perm * (Py_ssize_t)sizeof(Py_ssize_t) != probes.len;
    unsigned char *empty = bad ? NULL : PyMem_Malloc((size_t)num_perm);
    if (!bad && !empty) {
        PyBuffer_Release(&probes);
        PyBuffer_Release(&sig);
        return PyErr_NoMemory();
    }
    const Py_ssize_t *table = probes.buf;
    Py_ssize_t rows = bad ? 0 : sig.len / 8 / num_perm;
    for (Py_ssize_t r = 0; r < rows && !bad; r++) {
        uint64_t *row = (uint64_t *)sig.buf + r * num_perm;
        Py_ssize_t count = 0;
        for (Py_ssize_t i = 0; i < num_perm; i++) count += empty[i] = row[i] == UINT64_MAX;
        if (!count || count == num_perm) continue;
        for (Py_ssize_t i = 0; i < num_perm && !bad; i++) {
            if (!empty[i]) continue;
            Py_ssize_t source = -1;
            for (Py_ssize_t t = 0; t < attempts && source < 0; t++) {
                Py_ssize_t j = table[i * attempts + t];
                if (j < 0 || j >= num_perm) {
                    bad = 1;
                    break;
                }
                if (!empty[j]) source = j;
            }
            for (uint64_t attempt = (uint64_t)attempts + 1; source < 0 && !bad; attempt++) {
                uint64_t m = mix64(((uint64_t)i * UINT64_C(0x9E3779B97F4A7C15) + attempt) ^ key);
                Py_ssize_t j = (Py_ssize_t)(((m >> 32) * (uint64_t)num_perm) >> 32);
                if (!empty[j]) source = j;
            }
            if (!bad) row[i] = row[source]; /* a bin filled before: never written here */
        }
    }
    PyMem_Free(empty);
    PyBuffer_Release(&probes);
    PyBuffer_Release(&sig);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "sig must be 2-D uint64 and probes num_perm x attempts "
                                          "bins below num_perm");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"shingles", shingles, METH_VARARGS, shingles_doc},
    {"oph", oph, METH_VARARGS, oph_doc},
    {"kperm", kperm, METH_VARARGS, kperm_doc},
    {"densify", densify, METH_VARARGS, densify_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "dedup._core",
                                    "Compiled hashing core of dedup.", -1, methods};

PyMODINIT_FUNC PyInit__core(void) { return PyModule_Create(&module); }
