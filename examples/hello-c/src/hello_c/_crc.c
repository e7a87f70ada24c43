/* crc32 of bytes, through zlib: a C extension that links a shared library,
 * so that the package must depend on zlib's Debian package. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <zlib.h>

static PyObject *crc(PyObject *self, PyObject *args) {
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) {
        return NULL;
    }
    unsigned long sum = crc32(0L, (const Bytef *)buf.buf, (uInt)buf.len);
    PyBuffer_Release(&buf);
    return PyLong_FromUnsignedLong(sum);
}

static PyMethodDef methods[] = {
    {"crc32", crc, METH_VARARGS, "The CRC-32 of bytes, computed by zlib."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_crc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__crc(void) { return PyModule_Create(&module); }
