/* The body of an LCOV record in C (gatekeeper/parsers/lcov.py, `_Reader.body`): optional, the same answers.
 *
 * Why: a tracefile is mostly DA and BRDA lines, and even with bytes.translate, split and a table of line
 * numbers the pure-Python fast path spends ~0.5 s of CPU on 1.76 million of them, where a bare Python loop
 * that only counts them takes 0.23 s.  Here each line is looked at once to check its shape and once more
 * to set its bits, and no Python object is made for a DA line.
 *
 * What it takes is a strict subset of what the careful reader (`_Reader.careful`, which defines the format)
 * reads, and it reads it the same way:
 *   DA:<line>,<hits>[,<checksum>]    <line> 1-8 ASCII digits, at most MAX_LINE; <hits> digits
 *   BRDA:<line>,<...>,<taken>        <taken>, after the line's last comma: digits or "-"
 *   an empty line, or one that starts with a capital letter (other than SF:): skipped, BRF: noted
 * As in the careful reader, neither a checksum nor what lies between a BRDA line's first and last commas
 * is looked at (a block and a branch number; coverage.py writes "jump to line 28" there, lcov 2.x an
 * expression).  A count is positive when it has a digit other than 0 (what `int()`, or `float()` past
 * int's digit limit, says of digits; no digits at all is zero, as `positive("")`).  Anything else -- a
 * space, a sign, a lower-case line, a line number out of range or with more digits -- and the whole body
 * is declined, having changed nothing: the caller reads it with the careful reader.
 *
 * Lines are recorded as the careful reader's lists would make them, in bitmaps (bit n of a little-endian
 * bytearray for line n): `statements` for every DA line, `covered` for those with hits, so that a line
 * listed twice is covered when any of its DA lines has hits.  BRDA lines are added to the record's two
 * dictionaries (line -> count) in the order they come, as the careful reader adds them.
 * tests/parsers/test_lcov_fast.py holds this path, the pure-Python one and the careful reader to the same
 * evidence; test_speedups_asan.py runs those tests again with this file built with AddressSanitizer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_LINE 10000000L /* gatekeeper.parsers._coverage.MAX_LINE */
#define MAX_LINE_DIGITS 8  /* as many as MAX_LINE has: more (leading zeros) is left to the careful reader */

/* What a body holds, counted by the first pass. */
typedef struct {
    long max_line;       /* the highest DA line number, -1 if there is no DA line */
    Py_ssize_t lines;    /* lines in the body */
    int branch_data;     /* a BRDA or BRF line */
} Shape;

/* The pending BRDA lines of one line number: one dictionary update each for a run of them. */
typedef struct {
    long line; /* -1: none pending */
    long total;
    long taken;
} Branches;

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A line number at p (before end): its end, or NULL if it is not 1-8 digits of at most MAX_LINE. */
static const char *
line_number(const char *p, const char *end, long *value)
{
    long n = 0;
    const char *start = p;
    while (p < end && is_digit(*p)) {
        if (p - start == MAX_LINE_DIGITS)
            return NULL;
        n = n * 10 + (*p - '0');
        p++;
    }
    if (p == start || n > MAX_LINE)
        return NULL;
    *value = n;
    return p;
}

/* Digits at p (before end), maybe none: their end; *positive is whether one is not 0. */
static const char *
count(const char *p, const char *end, int *positive)
{
    int any = 0;
    while (p < end && is_digit(*p)) {
        any |= *p != '0';
        p++;
    }
    *positive = any;
    return p;
}

/* p with `text` skipped if the bytes up to end start with it, else NULL. */
static const char *
after(const char *p, const char *end, const char *text, Py_ssize_t size)
{
    return end - p >= size && memcmp(p, text, (size_t)size) == 0 ? p + size : NULL;
}

/* The int objects of the common line numbers, made once and shared by every record's dictionaries, as the
 * pure-Python path shares lcov._NUMBERS': a verdict of 180,000 branch lines then holds 1,700 keys, not
 * 130,000 (3.4 MiB). */
#define SHARED_NUMBERS 10000
static PyObject *shared_numbers[SHARED_NUMBERS];

/* A new reference to the int `line`. */
static PyObject *
number(long line)
{
    if (line >= SHARED_NUMBERS)
        return PyLong_FromLong(line);
    if (shared_numbers[line] == NULL && (shared_numbers[line] = PyLong_FromLong(line)) == NULL)
        return NULL;
    return Py_NewRef(shared_numbers[line]);
}

/* Add `amount` to dictionary[line], as `dictionary[line] = dictionary.get(line, 0) + amount`. */
static int
add(PyObject *dictionary, long line, long amount)
{
    PyObject *key = number(line);
    if (key == NULL)
        return -1;
    PyObject *old = PyDict_GetItemWithError(dictionary, key); /* borrowed */
    PyObject *sum = NULL;
    if (old != NULL) {
        PyObject *more = PyLong_FromLong(amount);
        if (more != NULL) {
            sum = PyNumber_Add(old, more);
            Py_DECREF(more);
        }
    } else if (!PyErr_Occurred()) {
        sum = PyLong_FromLong(amount);
    }
    int status = sum == NULL ? -1 : PyDict_SetItem(dictionary, key, sum);
    Py_XDECREF(sum);
    Py_DECREF(key);
    return status;
}

static int
flush(Branches *pending, PyObject *totals, PyObject *taken)
{
    if (pending->line < 0)
        return 0;
    if (add(totals, pending->line, pending->total) < 0)
        return -1;
    if (pending->taken > 0 && add(taken, pending->line, pending->taken) < 0)
        return -1;
    pending->line = -1;
    return 0;
}

/* Set bit n of a bitmap, which the first pass made long enough (checked all the same: a size is cheap to read). */
static int
set_bit(PyObject *bitmap, long n)
{
    if ((n >> 3) >= PyByteArray_GET_SIZE(bitmap)) {
        PyErr_SetString(PyExc_RuntimeError, "body: a bitmap changed size while it was being written");
        return -1;
    }
    PyByteArray_AS_STRING(bitmap)[n >> 3] |= (char)(1 << (n & 7));
    return 0;
}

/* Make a bitmap hold bit `line`, the new bytes zero. */
static int
grow(PyObject *bitmap, long line)
{
    Py_ssize_t size = PyByteArray_GET_SIZE(bitmap), needed = (Py_ssize_t)(line >> 3) + 1;
    if (size >= needed)
        return 0;
    if (PyByteArray_Resize(bitmap, needed) < 0)
        return -1;
    memset(PyByteArray_AS_STRING(bitmap) + size, 0, (size_t)(needed - size));
    return 0;
}

/* One pass over the lines of [p, end): unless `record`, check them and fill `shape` (0, or 1 to decline);
 * then, once they are known to be in shape, record them (0, or -1 with a Python error set). */
static int
walk(const char *p, const char *end, Shape *shape, PyObject *statements, PyObject *covered, PyObject *totals,
     PyObject *taken, int record)
{
    Branches pending = {-1, 0, 0};
    shape->max_line = -1;
    shape->lines = 0;
    shape->branch_data = 0;
    for (;;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        shape->lines++;
        const char *q;
        long n;
        int positive;
        if (eol == p) {
            /* an empty line: skipped */
        } else if ((q = after(p, eol, "DA:", 3)) != NULL) {
            if ((q = line_number(q, eol, &n)) == NULL || q == eol || *q != ',')
                return 1;
            if ((q = count(q + 1, eol, &positive)) != eol && *q != ',') /* the rest: a checksum */
                return 1;
            if (record) {
                if (set_bit(statements, n) < 0 || (positive && set_bit(covered, n) < 0))
                    return -1;
            } else if (n > shape->max_line) {
                shape->max_line = n;
            }
        } else if ((q = after(p, eol, "BRDA:", 5)) != NULL) {
            shape->branch_data = 1;
            if ((q = line_number(q, eol, &n)) == NULL || q == eol || *q != ',')
                return 1;
            const char *last = eol - 1; /* the line's last comma: q at the earliest */
            while (*last != ',')
                last--;
            q = last + 1;
            if (eol - q == 1 && *q == '-') /* never evaluated: not taken */
                positive = 0;
            else if (count(q, eol, &positive) != eol)
                return 1;
            if (record) {
                if (n != pending.line && flush(&pending, totals, taken) < 0)
                    return -1;
                if (pending.line < 0) {
                    pending.line = n;
                    pending.total = pending.taken = 0;
                }
                pending.total++;
                pending.taken += positive;
            }
        } else if (*p < 'A' || *p > 'Z' || after(p, eol, "SF:", 3) != NULL) {
            return 1; /* strip() might change its key, or a record starts: the careful reader's */
        } else if (after(p, eol, "BRF:", 4) != NULL) {
            shape->branch_data = 1;
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    return record ? flush(&pending, totals, taken) : 0;
}

/* body(data, start, stop, statements, covered, totals, taken) -> (lines, branch_data) or None. */
static PyObject *
body(PyObject *module, PyObject *args)
{
    Py_buffer data;
    Py_ssize_t start, stop;
    PyObject *statements, *covered, *totals, *taken;
    if (!PyArg_ParseTuple(args, "y*nnO!O!O!O!:body", &data, &start, &stop, &PyByteArray_Type, &statements,
                          &PyByteArray_Type, &covered, &PyDict_Type, &totals, &PyDict_Type, &taken))
        return NULL;
    PyObject *result = NULL;
    if (start < 0 || start > stop || stop > data.len) {
        PyErr_SetString(PyExc_ValueError, "body: start and stop must satisfy 0 <= start <= stop <= len(data)");
        goto done;
    }
    const char *begin = (const char *)data.buf + start, *end = (const char *)data.buf + stop;
    Shape shape;
    if (walk(begin, end, &shape, NULL, NULL, NULL, NULL, 0) != 0) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (shape.max_line >= 0 && (grow(statements, shape.max_line) < 0 || grow(covered, shape.max_line) < 0))
        goto done;
    if (walk(begin, end, &shape, statements, covered, totals, taken, 1) < 0)
        goto done;
    result = Py_BuildValue("(nO)", shape.lines, shape.branch_data ? Py_True : Py_False);
done:
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"body", body, METH_VARARGS,
     "Record the DA and BRDA lines of data[start:stop] (a record's body): (lines, branch data), or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_lcov_speedups", "An LCOV record's body in C (see lcov.py).", 0, methods,
};

PyMODINIT_FUNC
PyInit__lcov_speedups(void)
{
    return PyModule_Create(&module);
}
