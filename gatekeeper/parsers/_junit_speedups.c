/* The hot path of gatekeeper/parsers/junit.py in C: optional, with the same results to the last bit.
 *
 * Why: reading JUnit is expat's own work plus one Python call per start and end tag.  On Surefire's
 * one-file-per-class directories the Python calls cost twice what expat does, mostly for elements that
 * never matter (a passing case, ~50 <property> elements per file).  Here expat's callbacks are C
 * functions: a passing case is counted and its `time` added without creating a Python object, and a
 * <properties> block is skipped with no Python call.  Everything else -- suites, result elements,
 * failure text, closing a case that did not simply pass -- is handed to the same Python `_Handler` as
 * the streaming parser, with the same arguments, in the same order, so both paths give equal evidence
 * (tests check this on every JUnit file we have and on generated ones).  Every byte goes through expat:
 * a hand-written tokenizer that cut a well-formed <properties> block out before expat saw it saved
 * 11% of the CLI's instructions on Surefire's directory, too little for a second XML reader of
 * untrusted bytes (bench/precut.py, bench/README.md).
 *
 * Expat itself is Python's own (pyexpat's C API capsule), so it is the same library and version as
 * the pure-Python path.  This path declines a document with a DOCTYPE before expat sees it (the
 * streaming parser refuses entities), and it reports any XML error only as "not accepted here": the
 * caller parses the file again with the streaming parser, which words the error for the user.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

/* ---- the part of expat's API we use, as pyexpat's capsule exports it (see CPython's pyexpat.h) ----
 * Declared here rather than included: pyexpat.h needs expat.h, which not every system has installed.
 * The capsule's struct only ever grows at its end, and its magic and size are checked on import. */
typedef struct XML_ParserStruct *XML_Parser;
typedef char XML_Char;
typedef void (*XML_StartElementHandler)(void *user, const XML_Char *name, const XML_Char **atts);
typedef void (*XML_EndElementHandler)(void *user, const XML_Char *name);
typedef void (*XML_CharacterDataHandler)(void *user, const XML_Char *s, int len);
typedef void (*XML_StartDoctypeDeclHandler)(void *user, const XML_Char *name, const XML_Char *sysid,
                                            const XML_Char *pubid, int has_internal_subset);
enum { XML_STATUS_ERROR = 0, XML_STATUS_OK = 1 };

struct expat_capi {
    char *magic;
    int size;
    int major_version, minor_version, micro_version;
    const char *(*ErrorString)(int code);
    int (*GetErrorCode)(XML_Parser parser);
    unsigned long (*GetErrorColumnNumber)(XML_Parser parser);
    unsigned long (*GetErrorLineNumber)(XML_Parser parser);
    int (*Parse)(XML_Parser parser, const char *s, int len, int is_final);
    XML_Parser (*ParserCreate_MM)(const XML_Char *encoding, const void *memsuite, const XML_Char *sep);
    void (*ParserFree)(XML_Parser parser);
    void (*SetCharacterDataHandler)(XML_Parser parser, XML_CharacterDataHandler handler);
    void (*SetCommentHandler)(XML_Parser parser, void *handler);
    void (*SetDefaultHandlerExpand)(XML_Parser parser, void *handler);
    void (*SetElementHandler)(XML_Parser parser, XML_StartElementHandler start, XML_EndElementHandler end);
    void (*SetNamespaceDeclHandler)(XML_Parser parser, void *start, void *end);
    void (*SetProcessingInstructionHandler)(XML_Parser parser, void *handler);
    void (*SetUnknownEncodingHandler)(XML_Parser parser, void *handler, void *data);
    void (*SetUserData)(XML_Parser parser, void *user);
    void (*SetStartDoctypeDeclHandler)(XML_Parser parser, XML_StartDoctypeDeclHandler start);
};
#define CAPI_MAGIC "pyexpat.expat_CAPI 1.1"

static struct expat_capi *expat;

/* ---- a set of element names, given by junit.py (its constants stay the one source of truth) ---- */
#define MAX_NAMES 8
typedef struct {
    int count;
    char *names[MAX_NAMES];
} NameSet;

static int
names_contain(const NameSet *set, const char *name)
{
    for (int i = 0; i < set->count; i++) {
        if (strcmp(set->names[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
names_init(NameSet *set, PyObject *iterable)
{
    PyObject *tuple = PySequence_Tuple(iterable);
    if (tuple == NULL) {
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(tuple);
    if (n > MAX_NAMES) {
        Py_DECREF(tuple);
        PyErr_SetString(PyExc_ValueError, "too many element names");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *utf8 = PyUnicode_AsUTF8(PyTuple_GET_ITEM(tuple, i));
        char *copy = utf8 ? PyMem_Malloc(strlen(utf8) + 1) : NULL;
        if (copy == NULL) {
            if (utf8 != NULL) {
                PyErr_NoMemory();
            }
            Py_DECREF(tuple);
            return -1;
        }
        strcpy(copy, utf8);
        set->names[set->count++] = copy;
    }
    Py_DECREF(tuple);
    return 0;
}

static void
names_free(NameSet *set)
{
    for (int i = 0; i < set->count; i++) {
        PyMem_Free(set->names[i]);
    }
    set->count = 0;
}

/* ---- the scanner ---- */
typedef struct {
    PyObject_HEAD
    XML_Parser parser;
    PyObject *handler;   /* junit._Handler: every cold path */
    PyObject *suites;    /* handler.suites, the open suites */
    PyObject *to_float;  /* junit's reading of a `time` value that is not plain digits */
    PyObject *chardata;  /* what the handler set as CharacterDataHandler, or NULL */
    NameSet records;     /* a case's children that change its outcome */
    NameSet suite_names; /* elements that group cases */
    int root_seen;
    int in_properties;   /* inside a <properties> block outside a case: nothing counts */
    int nested;          /* <properties> blocks open inside the one being skipped */
    int case_open;
    int case_has_status;
    int depth;           /* inside the open case: 1 = a direct child */
    int record;          /* the open case has a result element or a flaky record */
    int mark_suite;      /* the innermost open suite is not yet marked as holding cases */
    int stopped;         /* a callback raised, or a DOCTYPE came: no more Python calls */
    int fed;             /* feed() was called before */
    int doctype;         /* expat met a DOCTYPE (the prolog check should have declined the document) */
    Py_ssize_t passed;
    double duration;
    /* The open case's attributes, copied ("name\0value\0" pairs): its dict is built only if needed. */
    char *attributes;
    size_t attributes_used, attributes_size;
    int attribute_count;
} Scanner;

static void
stop(Scanner *self)
{
    self->stopped = 1;
    expat->SetElementHandler(self->parser, NULL, NULL);
    expat->SetCharacterDataHandler(self->parser, NULL);
}

static PyObject *
attributes_dict(const XML_Char **atts)
{
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    for (; atts[0] != NULL; atts += 2) {
        PyObject *key = PyUnicode_DecodeUTF8(atts[0], (Py_ssize_t)strlen(atts[0]), "strict");
        PyObject *value = key ? PyUnicode_DecodeUTF8(atts[1], (Py_ssize_t)strlen(atts[1]), "strict") : NULL;
        int failed = value == NULL || PyDict_SetItem(dict, key, value) < 0;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (failed) {
            Py_DECREF(dict);
            return NULL;
        }
    }
    return dict;
}

/* Copy the case's attributes; returns -1 (with MemoryError set) if it cannot. */
static int
keep_case_attributes(Scanner *self, const XML_Char **atts)
{
    self->attributes_used = 0;
    self->attribute_count = 0;
    self->case_has_status = 0;
    for (; atts[0] != NULL; atts += 2) {
        size_t name_length = strlen(atts[0]) + 1, value_length = strlen(atts[1]) + 1;
        size_t needed = self->attributes_used + name_length + value_length;
        if (needed > self->attributes_size) {
            size_t size = needed * 2;
            char *grown = PyMem_Realloc(self->attributes, size);
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            self->attributes = grown;
            self->attributes_size = size;
        }
        memcpy(self->attributes + self->attributes_used, atts[0], name_length);
        memcpy(self->attributes + self->attributes_used + name_length, atts[1], value_length);
        self->attributes_used = needed;
        self->attribute_count++;
        if (strcmp(atts[0], "status") == 0) {
            self->case_has_status = 1;
        }
    }
    return 0;
}

static PyObject *
case_dict(Scanner *self)
{
    PyObject *dict = PyDict_New();
    const char *at = self->attributes;
    for (int i = 0; dict != NULL && i < self->attribute_count; i++) {
        size_t name_length = strlen(at), value_length = strlen(at + name_length + 1);
        PyObject *key = PyUnicode_DecodeUTF8(at, (Py_ssize_t)name_length, "strict");
        PyObject *value = key ? PyUnicode_DecodeUTF8(at + name_length + 1, (Py_ssize_t)value_length, "strict")
                              : NULL;
        if (value == NULL || PyDict_SetItem(dict, key, value) < 0) {
            Py_CLEAR(dict);
        }
        Py_XDECREF(key);
        Py_XDECREF(value);
        at += name_length + 1 + value_length + 1;
    }
    return dict;
}

/* The open case's `time` as junit.to_float reads it.  Plain digits with at most one point are read
 * here by PyOS_string_to_double, which is what float() calls for them; anything else goes to Python. */
static int
case_seconds(Scanner *self, double *seconds)
{
    const char *at = self->attributes, *value = NULL;
    for (int i = 0; i < self->attribute_count; i++) {
        size_t name_length = strlen(at);
        if (strcmp(at, "time") == 0) {
            value = at + name_length + 1;
            break;
        }
        at += name_length + 1 + strlen(at + name_length + 1) + 1;
    }
    if (value == NULL || value[0] == '\0') {
        *seconds = 0.0;
        return 0;
    }
    int digits = 0, points = 0;
    const char *c = value;
    for (; *c != '\0'; c++) {
        if (*c >= '0' && *c <= '9') {
            digits++;
        }
        else if (*c == '.' && points == 0) {
            points++;
        }
        else {
            break;
        }
    }
    if (*c == '\0' && digits > 0) {
        char *end = NULL;
        double number = PyOS_string_to_double(value, &end, NULL);
        if (number == -1.0 && PyErr_Occurred()) {
            return -1;
        }
        if (end != NULL && *end == '\0') {
            *seconds = (number >= 0.0 && isfinite(number)) ? number : 0.0;
            return 0;
        }
    }
    PyObject *text = PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value), "strict");
    PyObject *result = text ? PyObject_CallOneArg(self->to_float, text) : NULL;
    Py_XDECREF(text);
    if (result == NULL) {
        return -1;
    }
    *seconds = PyFloat_AsDouble(result);
    Py_DECREF(result);
    return (*seconds == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* Call handler.<method>(name, {attributes}); returns a new reference or NULL. */
static PyObject *
call_with_element(Scanner *self, const char *method, const XML_Char *name, const XML_Char **atts)
{
    PyObject *element = PyUnicode_DecodeUTF8(name, (Py_ssize_t)strlen(name), "strict");
    PyObject *attributes = element ? attributes_dict(atts) : NULL;
    PyObject *result = attributes ? PyObject_CallMethod(self->handler, method, "OO", element, attributes) : NULL;
    Py_XDECREF(element);
    Py_XDECREF(attributes);
    return result;
}

/* handler.close_case(attributes): a case that is not a plain pass; adds its duration. */
static int
close_case(Scanner *self)
{
    PyObject *attributes = case_dict(self);
    PyObject *result = attributes ? PyObject_CallMethod(self->handler, "close_case", "O", attributes) : NULL;
    Py_XDECREF(attributes);
    if (result == NULL) {
        return -1;
    }
    double seconds = PyFloat_AsDouble(result);
    Py_DECREF(result);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    self->duration += seconds;
    return 0;
}

static int
count_plain_pass(Scanner *self)
{
    double seconds;
    if (case_seconds(self, &seconds) < 0) {
        return -1;
    }
    self->duration += seconds;
    self->passed++;
    return 0;
}

/* suites[-1].holds_cases as a truth value, or -1 on error; 0 when no suite is open. */
static int
innermost_holds_cases(Scanner *self)
{
    Py_ssize_t open = PyList_GET_SIZE(self->suites);
    if (open == 0) {
        return 0;
    }
    PyObject *holds = PyObject_GetAttrString(PyList_GET_ITEM(self->suites, open - 1), "holds_cases");
    if (holds == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(holds);
    Py_DECREF(holds);
    return truth;
}

/* handler.end_body() if the handler is collecting a failure's body (handler.body is not None). */
static int
end_body_if_open(Scanner *self)
{
    PyObject *body = PyObject_GetAttrString(self->handler, "body");
    if (body == NULL) {
        return -1;
    }
    int open = body != Py_None;
    Py_DECREF(body);
    if (!open) {
        return 0;
    }
    PyObject *result = PyObject_CallMethod(self->handler, "end_body", NULL);
    Py_XDECREF(result);
    return result == NULL ? -1 : 0;
}

static void
on_start(void *user, const XML_Char *name, const XML_Char **atts)
{
    Scanner *self = user;
    PyObject *result = NULL;
    if (self->stopped) {
        return;
    }
    if (self->in_properties) {
        self->nested += strcmp(name, "properties") == 0;
        return;
    }
    if (!self->root_seen) {
        /* handler.start_root is true for a bare <testcase> root: one case, as in the streaming parser. */
        self->root_seen = 1;
        result = call_with_element(self, "start_root", name, atts);
        int bare = result ? PyObject_IsTrue(result) : -1;
        Py_XDECREF(result);
        if (bare < 0 || (bare && keep_case_attributes(self, atts) < 0)) {
            stop(self);
            return;
        }
        self->case_open = bare;
        self->mark_suite = !bare;
        return;
    }
    else if (self->case_open) {
        self->depth++;
        if (self->depth != 1 || !names_contain(&self->records, name)) {
            return;
        }
        self->record = 1;
        result = call_with_element(self, "case_record", name, atts);
    }
    else if (strcmp(name, "testcase") == 0) {
        if (keep_case_attributes(self, atts) < 0) {
            stop(self);
            return;
        }
        self->case_open = 1;
        if (!self->mark_suite) {
            return;
        }
        self->mark_suite = 0;
        Py_ssize_t open = PyList_GET_SIZE(self->suites);
        if (open > 0 && PyObject_SetAttrString(PyList_GET_ITEM(self->suites, open - 1), "holds_cases", Py_True) < 0) {
            stop(self);
        }
        return;
    }
    else if (names_contain(&self->suite_names, name)) {
        result = call_with_element(self, "start_suite", name, atts);
        self->mark_suite = 1;
    }
    else {
        if (strcmp(name, "properties") == 0) {
            self->in_properties = 1;
        }
        return;
    }
    if (result == NULL) {
        stop(self);
        return;
    }
    Py_DECREF(result);
}

static void
on_end(void *user, const XML_Char *name)
{
    Scanner *self = user;
    int failed = 0;
    if (self->stopped) {
        return;
    }
    if (self->in_properties) {
        if (strcmp(name, "properties") == 0) {
            if (self->nested > 0) {
                self->nested--;
            }
            else {
                self->in_properties = 0;
            }
        }
        return;
    }
    if (!self->case_open) {
        if (names_contain(&self->suite_names, name)) {
            PyObject *result = PyObject_CallMethod(self->handler, "end_suite", NULL);
            Py_XDECREF(result);
            int holds = result ? innermost_holds_cases(self) : -1;
            failed = holds < 0;
            self->mark_suite = PyList_GET_SIZE(self->suites) > 0 && holds == 0;
        }
    }
    else if (self->depth > 0) {  /* the end of an element inside the case */
        if (self->depth == 1) {
            failed = end_body_if_open(self);
        }
        self->depth--;
    }
    else {  /* the case's own end */
        failed = (self->record || self->case_has_status) ? close_case(self) : count_plain_pass(self);
        self->case_open = 0;
        self->record = 0;
    }
    if (failed) {
        stop(self);
    }
}

static void
on_text(void *user, const XML_Char *s, int len)
{
    Scanner *self = user;
    if (self->stopped || self->chardata == NULL) {
        return;
    }
    PyObject *text = PyUnicode_DecodeUTF8(s, len, "strict");
    PyObject *result = text ? PyObject_CallOneArg(self->chardata, text) : NULL;
    Py_XDECREF(text);
    if (result == NULL) {
        stop(self);
        return;
    }
    Py_DECREF(result);
}

static void
on_doctype(void *user, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid, int internal)
{
    Scanner *self = user;
    self->doctype = 1;
    if (!self->stopped) {
        stop(self);
    }
}


/* ---- the document's prolog, checked before expat sees it ---- */

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
skip_spaces(const char *at, const char *end)
{
    while (at < end && is_space(*at)) {
        at++;
    }
    return at;
}

/* `at` starts with the literal `text`; returns the position after it, or NULL. */
static const char *
literal(const char *at, const char *end, const char *text)
{
    size_t length = strlen(text);
    return ((size_t)(end - at) >= length && memcmp(at, text, length) == 0) ? at + length : NULL;
}

/* The position of `text` in [at, end), or NULL. */
static const char *
find(const char *at, const char *end, const char *text)
{
    size_t length = strlen(text);
    while ((size_t)(end - at) >= length) {
        const char *hit = memchr(at, text[0], (size_t)(end - at) - length + 1);
        if (hit == NULL) {
            return NULL;
        }
        if (memcmp(hit, text, length) == 0) {
            return hit;
        }
        at = hit + 1;
    }
    return NULL;
}

/* Whether the document's prolog ends in its first piece, with no DOCTYPE, in an encoding where ASCII
 * is ASCII.  Otherwise this path declines the document before expat sees it: junit.py then has the
 * streaming parser read it, which refuses entity declarations in its own words (and reads UTF-16). */
static int
plain_prolog(const char *at, const char *end)
{
    if (end - at >= 3 && memcmp(at, "\xef\xbb\xbf", 3) == 0) {
        at += 3;
    }
    for (;;) {
        at = skip_spaces(at, end);
        if (end - at < 2 || at[0] != '<') {
            return 0;
        }
        const char *close;
        if (at[1] == '?') {
            close = find(at + 2, end, "?>");
            at = close != NULL ? close + 2 : NULL;
        }
        else if (literal(at, end, "<!--") != NULL) {
            close = find(at + 4, end, "-->");
            at = close != NULL ? close + 3 : NULL;
        }
        else {  /* the root element's start tag, or a DOCTYPE, or what expat would refuse */
            unsigned char c = (unsigned char)at[1];
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
        }
        if (at == NULL) {
            return 0;
        }
    }
}

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"handler", "to_float", "records", "suites", NULL};
    PyObject *handler, *to_float, *records, *suite_names;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO", keywords, &handler, &to_float, &records, &suite_names)) {
        return -1;
    }
    if (self->parser != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a Scanner reads one document");
        return -1;
    }
    PyObject *suites = PyObject_GetAttrString(handler, "suites");
    if (suites == NULL) {
        return -1;
    }
    if (!PyList_Check(suites)) {
        Py_DECREF(suites);
        PyErr_SetString(PyExc_TypeError, "handler.suites must be a list");
        return -1;
    }
    self->suites = suites;
    self->handler = Py_NewRef(handler);
    self->to_float = Py_NewRef(to_float);
    if (names_init(&self->records, records) < 0 || names_init(&self->suite_names, suite_names) < 0) {
        return -1;
    }
    self->parser = expat->ParserCreate_MM(NULL, NULL, NULL);
    if (self->parser == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    expat->SetUserData(self->parser, self);
    expat->SetElementHandler(self->parser, on_start, on_end);
    expat->SetStartDoctypeDeclHandler(self->parser, on_doctype);
    return 0;
}

static int
Scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    Py_VISIT(self->handler);
    Py_VISIT(self->suites);
    Py_VISIT(self->to_float);
    Py_VISIT(self->chardata);
    return 0;
}

static int
Scanner_clear(Scanner *self)
{
    Py_CLEAR(self->handler);
    Py_CLEAR(self->suites);
    Py_CLEAR(self->to_float);
    Py_CLEAR(self->chardata);
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    Scanner_clear(self);
    if (self->parser != NULL) {
        expat->ParserFree(self->parser);
    }
    names_free(&self->records);
    names_free(&self->suite_names);
    PyMem_Free(self->attributes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(feed_doc,
"feed(data, final) -> bool\n\n"
"Parse the next piece of the document.  False: this path does not take the document (malformed XML, a\n"
"DOCTYPE, UTF-16...); parse it again with the streaming parser.  An exception from the handler propagates.");

static PyObject *
Scanner_feed(Scanner *self, PyObject *args)
{
    Py_buffer data;
    int final;
    if (self->parser == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner.__init__ was not called");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*p", &data, &final)) {
        return NULL;
    }
    if (data.len > INT_MAX) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "feed at most 2 GiB at a time");
        return NULL;
    }
    int status;
    if (!self->fed && !plain_prolog(data.buf, (const char *)data.buf + data.len)) {
        status = XML_STATUS_ERROR;
    }
    else {
        status = expat->Parse(self->parser, data.buf, (int)data.len, final);
    }
    self->fed = 1;
    PyBuffer_Release(&data);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyBool_FromLong(status == XML_STATUS_OK && !self->doctype);
}

PyDoc_STRVAR(counts_doc, "counts() -> (plain passes, sum of all durations in document order)");

static PyObject *
Scanner_counts(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("nd", self->passed, self->duration);
}

static PyObject *
Scanner_get_chardata(Scanner *self, void *closure)
{
    return Py_NewRef(self->chardata != NULL ? self->chardata : Py_None);
}

static int
Scanner_set_chardata(Scanner *self, PyObject *value, void *closure)
{
    if (value == Py_None) {
        value = NULL;
    }
    if (value != NULL && !PyCallable_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "CharacterDataHandler must be callable or None");
        return -1;
    }
    Py_XSETREF(self->chardata, Py_XNewRef(value));
    if (self->parser != NULL && !self->stopped) {
        expat->SetCharacterDataHandler(self->parser, value != NULL ? on_text : NULL);
    }
    return 0;
}

static PyMethodDef Scanner_methods[] = {
    {"feed", (PyCFunction)Scanner_feed, METH_VARARGS, feed_doc},
    {"counts", (PyCFunction)Scanner_counts, METH_NOARGS, counts_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"CharacterDataHandler", (getter)Scanner_get_chardata, (setter)Scanner_set_chardata,
     "Called with each piece of text while set, as on a pyexpat parser.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gatekeeper.parsers._junit_speedups.Scanner",
    .tp_doc = PyDoc_STR("Scanner(handler, to_float, records, suites): one JUnit document, fed in pieces."),
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gatekeeper.parsers._junit_speedups",
    .m_doc = "The hot path of the JUnit parser in C (see junit.py); optional.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__junit_speedups(void)
{
    expat = PyCapsule_Import("pyexpat.expat_CAPI", 0);
    if (expat == NULL) {
        return NULL;
    }
    if (strcmp(expat->magic, CAPI_MAGIC) != 0 || (size_t)expat->size < sizeof(struct expat_capi)) {
        PyErr_SetString(PyExc_ImportError, "pyexpat's C API is not the one this module was written for");
        return NULL;
    }
    if (PyType_Ready(&ScannerType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_CLEAR(m);
    }
    return m;
}
