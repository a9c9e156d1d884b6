/* The depth check of gatekeeper/parsers/_json.py (`DepthGuard.feed`) in C: optional, the same answers.
 *
 * Why: every JSON report passes the guard a chunk at a time before it is parsed, and in Python the
 * guard needs bytes.translate, two regexes and repeated replaces over every byte: a fifth of the
 * instructions of reading a large SARIF file.  Here it is one pass, and a string's inside (most of a
 * report's bytes) is crossed by memchr.
 *
 * The state carried from chunk to chunk is the guard's own: the depth, whether the chunk ends inside a
 * string, and whether it ends just after a backslash inside one.  For valid JSON the answers are
 * exactly the pure-Python guard's (tests compare both on every report we have and on generated and
 * chunked documents); invalid JSON may be counted differently only after its first invalid byte, where
 * every parser stops anyway.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* scan(chunk, depth, in_string, in_escape, limit) -> (depth, in_string, in_escape), or None as soon as
 * the depth goes beyond limit. */
static PyObject *
scan(PyObject *module, PyObject *args)
{
    Py_buffer chunk;
    long depth, limit;
    int in_string, in_escape;
    if (!PyArg_ParseTuple(args, "y*lppl:scan", &chunk, &depth, &in_string, &in_escape, &limit))
        return NULL;
    const char *p = chunk.buf, *end = p + chunk.len;
    int too_deep = 0;
    while (p < end) {
        if (in_string) {
            if (in_escape) { /* the byte after a backslash, whatever it is */
                in_escape = 0;
                p++;
                continue;
            }
            const char *quote = memchr(p, '"', end - p);
            const char *stop = quote ? quote : end;
            const char *backslash = memchr(p, '\\', stop - p);
            if (backslash) {
                in_escape = 1;
                p = backslash + 1;
            } else if (quote) {
                in_string = 0;
                p = quote + 1;
            } else {
                p = end;
            }
            continue;
        }
        switch (*p++) {
        case '"':
            in_string = 1;
            break;
        case '[':
        case '{':
            if (++depth > limit) {
                too_deep = 1;
                p = end;
            }
            break;
        case ']':
        case '}':
            depth--;
            break;
        }
    }
    PyBuffer_Release(&chunk);
    if (too_deep)
        Py_RETURN_NONE;
    return Py_BuildValue("(lOO)", depth, in_string ? Py_True : Py_False, in_escape ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "One chunk through the depth guard: its state after it, or None if too deep."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_json_speedups", "The JSON depth guard in C (see _json.py).", 0, methods,
};

PyMODINIT_FUNC
PyInit__json_speedups(void)
{
    return PyModule_Create(&module);
}
