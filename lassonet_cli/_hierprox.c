/* Compiled HIER-PROX for the CPU training loop (lassonet_cli.prox.hier_prox_features_).
 *
 * One call runs the whole operator over every column of (theta, W), in place, where the numpy
 * version takes some thirty array operations whose fixed costs dominate on the small layers of
 * a path (benchmarks/prox_speed.py).  The Python side checks every argument (device, dtype,
 * contiguity, shapes) and passes raw data pointers: this module trusts them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

/* float64 squared lengths below this lose precision to underflow (prox._UNDERFLOW) */
#define UNDERFLOW (DBL_MIN / DBL_EPSILON)

/* t = (||v|| + M S_m - lam)_+ / (1 + m M^2), divided through by M when M >= 1 (prox._size_numpy) */
static double length_for(double v_norm, double s_m, double m, double lam, double M)
{
    if (M >= 1.0)
        return fmax(v_norm / M + s_m - lam / M, 0.0) / (1.0 / M + m * M);
    return fmax(v_norm + M * s_m - lam, 0.0) / (1.0 + m * M * M);
}

#define REAL float
#define KERNEL prox_float
#define NEWTON newton_float
#include "_hierprox_kernel.h"
#undef REAL
#undef KERNEL
#undef NEWTON

#define REAL double
#define KERNEL prox_double
#define NEWTON newton_double
#include "_hierprox_kernel.h"
#undef REAL
#undef KERNEL
#undef NEWTON

static void *pointer(PyObject *address)
{
    return address == Py_None ? NULL : PyLong_AsVoidPtr(address);
}

PyDoc_STRVAR(features_doc,
"features(theta, c, d, W, K, lam, lam0, M, keep, out, is_double)\n\n"
"HIER-PROX in place on theta (c, d) and W (K, d), row-major arrays of float32 (or float64\n"
"when is_double) given by their data addresses; lam (d,) or None for lam0 everywhere; keep\n"
"(d,) 0/1 mask or None; out (d,) receives the new column lengths.  Addresses are not checked.");

static PyObject *features(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError, "features() takes 11 arguments");
        return NULL;
    }
    void *theta = pointer(args[0]), *W = pointer(args[3]), *lam = pointer(args[5]),
         *keep = pointer(args[8]), *out = pointer(args[9]);
    Py_ssize_t c = PyLong_AsSsize_t(args[1]), d = PyLong_AsSsize_t(args[2]),
               K = PyLong_AsSsize_t(args[4]);
    double lam0 = PyFloat_AsDouble(args[6]), M = PyFloat_AsDouble(args[7]);
    int is_double = PyObject_IsTrue(args[10]);
    if (PyErr_Occurred())
        return NULL;
    if (W == NULL)
        K = 0;
    double *work = d > 0 ? malloc(5 * (size_t)d * sizeof(double)) : NULL;
    if (d > 0 && work == NULL)
        return PyErr_NoMemory();
    int status = is_double ? prox_double(theta, c, d, W, K, lam, lam0, M, keep, out, work)
                           : prox_float(theta, c, d, W, K, lam, lam0, M, keep, out, work);
    free(work);
    if (status < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"features", (PyCFunction)(void (*)(void))features, METH_FASTCALL, features_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hierprox", "Compiled HIER-PROX (see prox.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__hierprox(void)
{
    return PyModule_Create(&module);
}
