"""Eight-lane scans of the compiled kernels (:mod:`analysis.estimators._compiled`) written as
explicit LLVM vector code.

The kernels' fixed-order sums keep eight partial results: lane ``k`` takes the elements
``c = k (mod 8)`` in order. Those eight lanes are one ``<8 x double>`` vector. Numba compiles the
scalar form to scalar code (LLVM's loop vectoriser does not reorder a floating-point reduction
without ``fastmath``); written as vector instructions here, lane-wise IEEE ``fmul``, ``fadd``
and ordered ``<`` with ``select`` give the same bits as the scalar form, whatever vector width
the CPU has (LLVM splits ``<8 x double>`` into the registers it has; ``tests/test_fast_paths.py``
compiles the kernels for SSE2-only and AVX2 CPUs too and compares their bits). No fast-math
flags, no fused multiply-add: each lane computes ``s + x*y`` as a product, rounded, then a sum,
rounded.

Numba's on-disk cache of the kernels (``cache=True``) is keyed on :mod:`._compiled`'s source
file only: after editing this module, delete ``src/analysis/estimators/__pycache__/*.nb[ic]``
(or touch ``_compiled.py``) so that the kernels are compiled again.
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 8


def is_lane_vector(ty) -> bool:
    """Whether :func:`lane_scan` takes an argument of numba type ``ty``: a contiguous
    one-dimensional float64 array."""
    return (isinstance(ty, types.Array) and ty.ndim == 1 and ty.layout == "C"
            and ty.dtype == types.float64)


def _halves(builder, v):
    n = v.type.count // 2
    i32 = ir.IntType(32)
    lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, n), list(range(n))))
    hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, n), list(range(n, 2 * n))))
    return lo, hi


def _fmin(builder, a, b):
    return builder.select(builder.fcmp_ordered("<", a, b), a, b)


def _fmax(builder, a, b):
    return builder.select(builder.fcmp_ordered("<", a, b), b, a)


def _smallest_two(builder, mins, seconds):
    """The two smallest values (counting repeats) of the lanes' pairs ``mins <= seconds``
    (no NaN): halving, ``(a, b), (c, d) -> (min(a, c), min(max(a, c), min(b, d)))``."""
    while mins.type.count > 1:
        a, c = _halves(builder, mins)
        b, d = _halves(builder, seconds)
        mins = _fmin(builder, a, c)
        seconds = _fmin(builder, _fmax(builder, a, c), _fmin(builder, b, d))
    zero = ir.Constant(ir.IntType(32), 0)
    return builder.extract_element(mins, zero), builder.extract_element(seconds, zero)


def _first_at(builder, mins, where, low):
    """The smallest index of ``where`` among lanes whose minimum equals ``low``."""
    i64 = ir.IntType(64)
    count = mins.type.count
    splat = builder.shuffle_vector(
        builder.insert_element(ir.Constant(mins.type, None), low, ir.Constant(ir.IntType(32), 0)),
        ir.Constant(mins.type, None), ir.Constant(ir.VectorType(ir.IntType(32), count), [0] * count))
    none = ir.Constant(ir.VectorType(i64, count), [2 ** 63 - 1] * count)
    idx = builder.select(builder.fcmp_ordered("==", mins, splat), where, none)
    while idx.type.count > 1:
        a, b = _halves(builder, idx)
        idx = builder.select(builder.icmp_signed("<", a, b), a, b)
    return builder.extract_element(idx, ir.Constant(ir.IntType(32), 0))


@intrinsic
def lane_scan(typingctx, x, y, m):
    """One pass over ``c < m`` (``m`` a multiple of 8, contiguous float64 vectors) in eight
    lanes (lane ``k``: the elements ``c = k (mod 8)`` in order). Returns ``(low, second,
    first, sums)``: the smallest ``x[c]`` (``inf`` if none is a number below ``inf``), the
    second smallest counting repeats, the first index of an element equal to ``low`` (when
    ``low < inf``), and the eight lane sums of ``x[c] * y[c]``."""
    if not (is_lane_vector(x) and is_lane_vector(y) and isinstance(m, types.Integer)):
        return None
    sig = types.Tuple((types.float64, types.float64, types.int64,
                       types.UniTuple(types.float64, LANES)))(x, y, m)

    def codegen(context, builder, sig, args):
        x_ty, y_ty, m_ty = sig.args
        x_val, y_val, m_val = args
        f64 = ir.DoubleType()
        i64 = ir.IntType(64)
        vec = ir.VectorType(f64, LANES)
        ivec = ir.VectorType(i64, LANES)
        vec_ptr = vec.as_pointer()
        intp = context.get_value_type(types.intp)
        x_data = context.make_array(x_ty)(context, builder, x_val).data
        y_data = context.make_array(y_ty)(context, builder, y_val).data
        stop = context.cast(builder, m_val, m_ty, types.intp)
        inf = ir.Constant(vec, [float("inf")] * LANES)
        sums = cgutils.alloca_once_value(builder, ir.Constant(vec, [0.0] * LANES))
        mins = cgutils.alloca_once_value(builder, inf)
        seconds = cgutils.alloca_once_value(builder, inf)
        where = cgutils.alloca_once_value(builder, ir.Constant(ivec, [-1] * LANES))
        offsets = ir.Constant(ivec, list(range(LANES)))
        with cgutils.for_range_slice(builder, ir.Constant(intp, 0), stop,
                                     ir.Constant(intp, LANES), intp) as (c, _):
            xv = builder.load(builder.bitcast(builder.gep(x_data, [c]), vec_ptr), align=8)
            yv = builder.load(builder.bitcast(builder.gep(y_data, [c]), vec_ptr), align=8)
            builder.store(builder.fadd(builder.load(sums), builder.fmul(xv, yv)), sums)
            lo = builder.load(mins)
            second = builder.load(seconds)
            below = builder.fcmp_ordered("<", xv, lo)
            # the second smallest takes the larger of x and the old minimum (x if NaN)
            candidate = builder.select(below, lo, xv)
            builder.store(_fmin(builder, candidate, second), seconds)
            builder.store(builder.select(below, xv, lo), mins)
            cv = _splat_plus(builder, c, i64, offsets)
            builder.store(builder.select(below, cv, builder.load(where)), where)
        lows = builder.load(mins)
        low, second = _smallest_two(builder, lows, builder.load(seconds))
        first = _first_at(builder, lows, builder.load(where), low)
        total = builder.load(sums)
        lane_sums = context.make_tuple(builder, sig.return_type.types[3], [
            builder.extract_element(total, ir.Constant(ir.IntType(32), k)) for k in range(LANES)])
        return context.make_tuple(builder, sig.return_type, [low, second, first, lane_sums])

    return sig, codegen


def _splat_plus(builder, c, i64, offsets):
    """``<c, c, ..., c> + offsets`` as an ``<8 x i64>``."""
    ivec = ir.VectorType(i64, LANES)
    if c.type != i64:
        c = builder.sext(c, i64)
    undef = ir.Constant(ivec, None)
    first = builder.insert_element(undef, c, ir.Constant(ir.IntType(32), 0))
    splat = builder.shuffle_vector(first, undef, ir.Constant(ir.VectorType(ir.IntType(32), LANES),
                                                             [0] * LANES))
    return builder.add(splat, offsets)
