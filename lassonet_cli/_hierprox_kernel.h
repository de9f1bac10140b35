/* HIER-PROX over the columns of a LassoNet layer pair, for one element type.
 *
 * Included twice by _hierprox.c, with REAL the element type (float, double) and KERNEL and
 * NEWTON the functions' names.  The derivation, and the meaning of every quantity, is in
 * prox.py's module docstring; all arithmetic on lengths is in double, whatever REAL is.
 */

/* Newton's method on f' for the pending columns of W (those with a finite bound_of[j] =
 * M t[j], t[j] their all-active candidate; the others' bound_of is INFINITY); sets t[j] = t*
 * for each.
 *
 * f' is concave and piecewise linear, and the all-active candidate is at or below t*: each
 * step solves f' = 0 on the current active set {i : |u_i| > M t}, stays at or below t*, and
 * the set only shrinks; t is t* once it stays the same (at most K steps).  The pending
 * columns' |W| are packed side by side first, and all of them take their steps together in
 * row-major passes over the packed block.  Returns -1 when memory runs out.
 */
static int NEWTON(const REAL *restrict W, Py_ssize_t K, Py_ssize_t d, const double *restrict lam,
                  double lam0, double M, const double *restrict v_norm, double *restrict t,
                  const double *restrict bound_of)
{
    Py_ssize_t i, j, p, P = 0;
    for (j = 0; j < d; j++)
        P += bound_of[j] != INFINITY;
    if (P == 0)
        return 0;
    Py_ssize_t remaining = P;
    char *block = malloc(P * (4 * sizeof(double) + sizeof(Py_ssize_t)) + K * P * sizeof(REAL));
    if (block == NULL)
        return -1;
    double *restrict bound = (double *)block, *restrict active = bound + P,
           *restrict count = active + P, *restrict sum = count + P;
    Py_ssize_t *restrict cols = (Py_ssize_t *)(sum + P);
    REAL *restrict packed = (REAL *)(cols + P);

    for (j = 0, p = 0; j < d; j++)
        if (bound_of[j] != INFINITY) {
            cols[p] = j;
            bound[p] = bound_of[j];
            active[p] = (double)K; /* the number of active entries; -1 once settled */
            p++;
        }
    for (i = 0; i < K; i++)
        for (p = 0; p < P; p++)
            packed[i * P + p] = (REAL)fabs(W[i * d + cols[p]]);
    while (remaining > 0) {
        for (p = 0; p < P; p++) {
            count[p] = 0.0;
            sum[p] = 0.0;
        }
        for (i = 0; i < K; i++) {
            const REAL *row = packed + i * P;
            for (p = 0; p < P; p++) {
                /* (branch-free, so that it vectorises) */
                double a = (double)row[p], hit = (double)(a > bound[p]);
                count[p] += hit;
                sum[p] += hit * a;
            }
        }
        for (p = 0; p < P; p++) {
            if (active[p] < 0.0)
                continue; /* settled in an earlier step */
            j = cols[p];
            if (count[p] >= active[p]) {
                active[p] = -1.0; /* the set stopped shrinking: t[j] is t* */
                bound[p] = INFINITY; /* (counts nothing from now on) */
                remaining--;
                continue;
            }
            active[p] = count[p];
            t[j] = length_for(v_norm[j], sum[p], count[p], lam ? lam[j] : lam0, M);
            bound[p] = M * t[j];
        }
    }
    free(block);
    return 0;
}

/* HIER-PROX in place on every column; returns -1 when memory runs out (else 0).
 *
 * theta : (c, d) skip weights, row-major, changed in place
 * W     : (K, d) input-layer weights, row-major, changed in place (K may be 0)
 * lam   : (d,) step-scaled penalties (double), or NULL for lam0 everywhere
 * keep  : (d,) 0/1 mask, or NULL (features with 0 end at zero)
 * out   : (d,) the new column lengths ||theta_j||
 * work  : 5 * d doubles of scratch
 */
static int KERNEL(REAL *restrict theta, Py_ssize_t c, Py_ssize_t d, REAL *restrict W,
                   Py_ssize_t K, const double *restrict lam, double lam0, double M,
                   const REAL *restrict keep, REAL *restrict out, double *restrict work)
{
    /* (restrict: the arrays do not overlap, which lets the compiler vectorise the passes) */
    double *restrict v_norm = work, *restrict t = work + d, *restrict a_max = work + 2 * d,
           *restrict a_min = work + 3 * d, *restrict a_sum = work + 4 * d,
           *bound = a_max; /* (not restrict: the same memory as a_max, reused) */
    Py_ssize_t i, j, r;

    /* column lengths of theta; a column whose squares could underflow (or overflow) is
       measured again, scaled by its largest entry */
    for (j = 0; j < d; j++)
        v_norm[j] = 0.0;
    for (r = 0; r < c; r++) {
        const REAL *row = theta + r * d;
        for (j = 0; j < d; j++)
            v_norm[j] += (double)row[j] * (double)row[j];
    }
    for (j = 0; j < d; j++) {
        double squares = v_norm[j];
        if ((squares > 0.0 && squares < UNDERFLOW) || isinf(squares)) {
            double big = 0.0, sum = 0.0;
            for (r = 0; r < c; r++)
                big = fmax(big, fabs((double)theta[r * d + j]));
            for (r = 0; r < c; r++) {
                double x = (double)theta[r * d + j] / big;
                sum += x * x;
            }
            v_norm[j] = sqrt(sum) * big;
        } else {
            v_norm[j] = sqrt(squares);
        }
        /* (v - lam)_+, keeping a NaN: a diverged column must not come out as a clean zero */
        double shrunk = v_norm[j] - (lam ? lam[j] : lam0);
        t[j] = shrunk <= 0.0 ? 0.0 : shrunk;
    }

    if (K > 0) {
        for (j = 0; j < d; j++) {
            a_max[j] = 0.0;
            a_min[j] = INFINITY;
            a_sum[j] = 0.0;
        }
        for (i = 0; i < K; i++) {
            const REAL *row = W + i * d;
            for (j = 0; j < d; j++) {
                double a = fabs((double)row[j]);
                a_max[j] = a > a_max[j] ? a : a_max[j];
                a_min[j] = a < a_min[j] ? a : a_min[j];
                a_sum[j] += a;
            }
        }
        /* a clipped column first takes the all-active candidate (m = K); where some entry
           is not clipped by it, the column is "pending" (bound[j] = M t[j] is finite) */
        for (j = 0; j < d; j++) {
            int clipped = a_max[j] > M * t[j];
            bound[j] = INFINITY; /* (aliases a_max) not pending */
            if (!clipped)
                continue; /* W_j is within the soft-thresholded length: nothing is clipped */
            if (!isfinite(a_sum[j]) || !isfinite(v_norm[j])) {
                t[j] = NAN; /* diverged weights: the path sees the NaN and retries the point */
                continue;
            }
            t[j] = length_for(v_norm[j], a_sum[j], (double)K, lam ? lam[j] : lam0, M);
            if (!isfinite(M * t[j]))
                continue; /* the sums overflowed (weights near the largest double): diverged */
            if (a_min[j] >= M * t[j])
                continue; /* every entry stays clipped: the usual case along the path */
            bound[j] = M * t[j];
        }
        if (NEWTON(W, K, d, lam, lam0, M, v_norm, t, bound) < 0)
            return -1;
    }

    for (j = 0; j < d; j++) {
        if (keep)
            t[j] *= (double)keep[j];
        out[j] = (REAL)t[j];
    }
    for (r = 0; r < c; r++) {
        REAL *row = theta + r * d;
        for (j = 0; j < d; j++) {
            double scale = t[j] / (v_norm[j] > 0.0 ? v_norm[j] : 1.0);
            row[j] = (REAL)((double)row[j] * scale);
        }
    }
    if (c > 0) {
        /* a zero column has no direction: its length goes on the first output axis */
        for (j = 0; j < d; j++)
            if (!(v_norm[j] > 0.0))
                theta[j] = out[j];
    }
    for (j = 0; j < d; j++)
        a_max[j] = (double)((REAL)M * out[j]); /* the bound, rounded as the weights are */
    for (i = 0; i < K; i++) {
        REAL *row = W + i * d;
        for (j = 0; j < d; j++) {
            REAL w = row[j], b = (REAL)a_max[j];
            w = w > b ? b : w; /* (a NaN weight compares false and stays NaN) */
            row[j] = w < -b ? -b : w;
        }
    }
    return 0;
}
