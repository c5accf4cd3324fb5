/* The compiled part of the align stage: the unit index of a sentence table.
 *
 * It computes what SentenceTable.build's NumPy path (dedup/align.py, _units) computes, the
 * same sums in the same order, so the two give equal arrays (tests/test_align.py compares
 * them). NumPy needs ~40 calls for it: SentenceTable.build took 125-133 us per generated
 * article (454 entries, of a ~1 ms profile), and 42-44 us with this file's one small sort
 * and linear passes. Inputs and outputs are buffers (NumPy arrays) the caller allocates.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Sort idx[0..n) by key[idx[i]], keeping the order of equal keys (a bottom-up merge sort
 * after insertion-sorted runs); tmp holds n items. Returns the sorted array (idx or tmp). */
static int64_t *stable_sort(const uint64_t *key, int64_t *idx, int64_t *tmp, Py_ssize_t n) {
    const Py_ssize_t run = 16;
    for (Py_ssize_t lo = 0; lo < n; lo += run) {
        Py_ssize_t hi = lo + run < n ? lo + run : n;
        for (Py_ssize_t i = lo + 1; i < hi; i++) {
            int64_t item = idx[i];
            uint64_t k = key[item];
            Py_ssize_t j = i;
            for (; j > lo && key[idx[j - 1]] > k; j--) idx[j] = idx[j - 1];
            idx[j] = item;
        }
    }
    int64_t *src = idx, *dst = tmp;
    for (Py_ssize_t width = run; width < n; width *= 2) {
        for (Py_ssize_t lo = 0; lo < n; lo += 2 * width) {
            Py_ssize_t mid = lo + width < n ? lo + width : n;
            Py_ssize_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            Py_ssize_t a = lo, b = mid, out = lo;
            while (a < mid && b < hi) dst[out++] = key[src[b]] < key[src[a]] ? src[b++] : src[a++];
            while (a < mid) dst[out++] = src[a++];
            while (b < hi) dst[out++] = src[b++];
        }
        int64_t *swap = src;
        src = dst;
        dst = swap;
    }
    return src;
}

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t bytes, int writable,
                      const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)))
        return -1;
    if (view->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, needs %zd", name, view->len, bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Scratch int64 words build() needs for n sentences and the given entries. */
static Py_ssize_t scratch_words(Py_ssize_t n, Py_ssize_t entries) {
    return 4 * entries + n + 1 + (entries + 7) / 8 + 1;
}

/* The work of units(), on arrays already checked. Returns the unit index items written. */
static Py_ssize_t build(const uint64_t *term, const double *weight, const int64_t *sizes,
                        Py_ssize_t n, Py_ssize_t entries, double *mass, uint64_t *unit_term,
                        int64_t *unit_of, int64_t *scratch) {
    int64_t *sent = scratch, *in_next = sent + entries, *first = in_next + entries;
    int64_t *idx = first + n + 1, *tmp = idx + entries;
    char *seen = (char *)(tmp + entries); /* entries bytes */
    first[0] = 0;
    for (Py_ssize_t s = 0; s < n; s++) {
        first[s + 1] = first[s] + sizes[s];
        for (int64_t e = first[s]; e < first[s + 1]; e++) sent[e] = s;
    }
    /* A term of sentence s also in s + 1 sits right before it in (term, entry) order. */
    for (Py_ssize_t e = 0; e < entries; e++) {
        idx[e] = e;
        in_next[e] = e;
        seen[e] = 0;
    }
    const int64_t *by_term = stable_sort(term, idx, tmp, entries);
    for (Py_ssize_t i = 0; i + 1 < entries; i++) {
        int64_t a = by_term[i], b = by_term[i + 1];
        if (term[a] == term[b] && sent[b] == sent[a] + 1) {
            in_next[a] = b;
            seen[b] = 1;
        }
    }
    /* Mass sums each unit's weights in the order of its entries, from zero, as bincount
     * does: a pair unit n + j holds the entries of sentence j (weighed as in j + 1 where the
     * term is there too), then those of j + 1 not in j. */
    for (Py_ssize_t s = 0; s < n; s++) {
        double sum = 0.0;
        for (int64_t e = first[s]; e < first[s + 1]; e++) sum += weight[e];
        mass[s] = sum;
    }
    for (Py_ssize_t j = 0; j + 1 < n; j++) {
        double sum = 0.0;
        for (int64_t e = first[j]; e < first[j + 1]; e++) sum += weight[in_next[e]];
        for (int64_t e = first[j + 1]; e < first[j + 2]; e++)
            if (!seen[e]) sum += weight[e];
        mass[n + j] = sum;
    }
    /* The unit index is the stable sort by term of the units' entries, sentences first, then
     * pairs in unit order. Within one term (a run of by_term, in entry order) that is: its
     * entries as sentences; then, merged by unit, its entries as the left part of pair
     * n + sent (sent < n - 1) and, after those, as the right part of n + sent - 1 (unseen). */
    Py_ssize_t count = 0;
    for (Py_ssize_t lo = 0, hi; lo < entries; lo = hi) {
        uint64_t t = term[by_term[lo]];
        for (hi = lo; hi < entries && term[by_term[hi]] == t; hi++) {
            unit_term[count] = t;
            unit_of[count++] = sent[by_term[hi]];
        }
        Py_ssize_t left = lo, right = lo;
        for (;;) {
            while (left < hi && sent[by_term[left]] >= n - 1) left++;
            while (right < hi && (sent[by_term[right]] == 0 || seen[by_term[right]])) right++;
            if (left == hi && right == hi) break;
            int take_left = right == hi
                            || (left < hi && sent[by_term[left]] <= sent[by_term[right]] - 1);
            unit_term[count] = t;
            unit_of[count++] = take_left ? n + sent[by_term[left++]]
                                         : n + sent[by_term[right++]] - 1;
        }
    }
    return count;
}

PyDoc_STRVAR(units_doc,
"units(entry_term, entry_weight, sizes, mass, unit_term, unit_of)\n"
"--\n\n"
"Index the units of a sentence table: entry_term (uint64) and entry_weight (float64) hold\n"
"the terms of each sentence in turn, sizes (int64) the terms per sentence. Writes the mass\n"
"of every unit into mass (float64, n + max(n - 1, 0) items) and the unit index, sorted by\n"
"term (stably), into unit_term (uint64) and unit_of (int64), which must hold 3 * entries\n"
"items. Returns the number of index items written.");

static PyObject *units(PyObject *self, PyObject *args) {
    PyObject *term_obj, *weight_obj, *sizes_obj, *mass_obj, *unit_term_obj, *unit_of_obj;
    if (!PyArg_ParseTuple(args, "OOOOOO:units", &term_obj, &weight_obj, &sizes_obj, &mass_obj,
                          &unit_term_obj, &unit_of_obj))
        return NULL;
    Py_buffer sizes_buf, term_buf, weight_buf, mass_buf, ut_buf, uo_buf;
    if (PyObject_GetBuffer(sizes_obj, &sizes_buf, PyBUF_C_CONTIGUOUS)) return NULL;
    Py_ssize_t n = sizes_buf.len / (Py_ssize_t)sizeof(int64_t), entries = 0;
    const int64_t *sizes = sizes_buf.buf;
    for (Py_ssize_t s = 0; s < n; s++) {
        if (sizes[s] < 0) {
            PyBuffer_Release(&sizes_buf);
            PyErr_SetString(PyExc_ValueError, "sizes must not be negative");
            return NULL;
        }
        entries += sizes[s];
    }
    Py_ssize_t n_mass = n + (n > 1 ? n - 1 : 0), result = -1;
    int got = 0;
    if (!get_buffer(term_obj, &term_buf, entries * 8, 0, "entry_term")) got = 1;
    if (got == 1 && !get_buffer(weight_obj, &weight_buf, entries * 8, 0, "entry_weight")) got = 2;
    if (got == 2 && !get_buffer(mass_obj, &mass_buf, n_mass * 8, 1, "mass")) got = 3;
    if (got == 3 && !get_buffer(unit_term_obj, &ut_buf, 3 * entries * 8, 1, "unit_term")) got = 4;
    if (got == 4 && !get_buffer(unit_of_obj, &uo_buf, 3 * entries * 8, 1, "unit_of")) got = 5;
    if (got == 5) {
        int64_t *scratch = PyMem_Malloc((size_t)scratch_words(n, entries) * sizeof(int64_t));
        if (!scratch) {
            PyErr_NoMemory();
        } else {
            result = build(term_buf.buf, weight_buf.buf, sizes, n, entries, mass_buf.buf,
                           ut_buf.buf, uo_buf.buf, scratch);
            PyMem_Free(scratch);
        }
    }
    switch (got) {
    case 5: PyBuffer_Release(&uo_buf); /* fall through */
    case 4: PyBuffer_Release(&ut_buf); /* fall through */
    case 3: PyBuffer_Release(&mass_buf); /* fall through */
    case 2: PyBuffer_Release(&weight_buf); /* fall through */
    case 1: PyBuffer_Release(&term_buf); /* fall through */
    default: PyBuffer_Release(&sizes_buf);
    }
    return result < 0 ? NULL : PyLong_FromSsize_t(result);
}

static PyMethodDef methods[] = {
    {"units", units, METH_VARARGS, units_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "dedup._align",
                                    "The unit index of a sentence table (see dedup/align.py).",
                                    -1, methods};

PyMODINIT_FUNC PyInit__align(void) { return PyModule_Create(&module); }
