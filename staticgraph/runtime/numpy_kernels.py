"""The numpy code of a fused region, and how its kernels' scratch rows are shared.

The numpy kernel calls each member's own kernel in run order, writing into its outputs' slices
of `out` and into scratch arrays (reused as values die, held in a free list shared by the
kernels whose scratch has the same rows, shape and dtype, so that concurrent runs never share
one and kernels run one after another do): its results are the unfused ones, bit for bit. The
scratch lies outside the memory plan (which plans the fused value): one array of the region's
shape per value live at once inside the region.
"""
from __future__ import annotations

import functools
import math
import threading
import weakref

import numpy as np

from staticgraph.ops.fused import REDUCTIONS, Region
from staticgraph.ops.registry import get_op

_KEYWORD_OUT = {np.maximum, np.minimum}  # numpy deprecates a positional `out` for these
_RESERVED = {"np", "empty", "copyto", "free", "scratch", "kernel", "out", "s"}


def numpy_kernel(region: Region, reads: dict) -> tuple[str, object, dict]:
    """The numpy code of `region` (whose members read `reads`, see `Region.reads`), the
    function it defines, and which member each line of the code computes (line number ->
    member)."""
    nodes = region.graph.nx._node
    names = {i: f"x{k}" for k, i in enumerate(region.inputs)}
    env: dict = {"np": np, "empty": np.empty, "copyto": np.copyto}
    lines = [f"def kernel({''.join(v + ', ' for v in names.values())}out=None):",
             "    if out is None:",
             f"        out = empty({region.spec.shape!r}, np.{region.dtype.name})"]
    for name, node in nodes.items():
        if node["op"] == "constant":
            names[name] = f"c{len(env)}"
            env[names[name]] = node["attrs"]["value"]
    single = len(region.outputs) == 1
    for k, (name, offset) in enumerate(zip(region.outputs, region.offsets)):
        shape = nodes[name]["shape"]
        size = math.prod(shape)
        view = "out" if single else f"out[{offset}:{offset + size}].reshape({shape!r})"
        lines.append(f"    o{k} = {view}")
    slots, rows = scratch_slots(region, reads, numpy_in_place=True)
    row = {"f": 0, "b": rows["f"]}  # where each kind's rows start in the scratch list
    if slots:
        env["free"] = _scratch_pool((rows["f"], rows["b"], tuple(region.shape),
                                     region.dtype.str))
        env["scratch"] = _scratch_maker(rows, region.shape, region.dtype)
        lines += ["    try:", "        s = free.pop()", "    except IndexError:",
                  "        s = scratch()"]
    outputs = {name: f"o{k}" for k, name in enumerate(region.outputs)}
    member_at = {}
    for t, name in enumerate(region.members):
        member_at[len(lines) + 1] = name
        node = nodes[name]
        op = get_op(node["op"])
        if node["attrs"]:
            k = f"{node['op']}_{t}"  # op names are identifiers
            env[k] = kernel = functools.partial(op.kernel, **node["attrs"])
        else:  # one name per op
            k = node["op"] if node["op"] not in _RESERVED else f"{node['op']}_"
            env[k] = kernel = op.kernel
        args = ", ".join([names[i] for i in reads[name]])
        target = outputs.get(name) or f"s[{row[slots[name][0]] + slots[name][1]}]"
        if isinstance(kernel, np.ufunc) and kernel not in _KEYWORD_OUT and len(reads[name]) <= 2:
            lines.append(f"    {k}({args}, {target})")
        elif "out" in op.traits:
            lines.append(f"    {k}({args}, out={target})")
        else:
            lines.append(f"    copyto({target}, {k}({args}))")
        names[name] = target
    if slots:
        lines.append("    free.append(s)")
    lines.append("    return out")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<fused kernel {region.outputs[0]}>", "exec"), env)
    return source, env["kernel"], member_at


class _Pool(list):
    """Free scratch sets of one kind (a list that can be weakly referenced)."""


_POOLS: "weakref.WeakValueDictionary[tuple, _Pool]" = weakref.WeakValueDictionary()
_POOLS_LOCK = threading.Lock()


def _scratch_pool(key: tuple) -> _Pool:
    """The free list of scratch sets shared by every kernel whose scratch is `key` (rows of
    each kind, shape, dtype): kernels running one after another reuse one set, so a run holds
    a set per kind of scratch, not one per fused node; it lives while a kernel uses it."""
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = _Pool()
        return pool


def _scratch_maker(rows: dict, shape: tuple, dtype: np.dtype):
    """make() -> a list of arrays of `shape`: rows["f"] of `dtype`, then rows["b"] of bool."""
    def make() -> list:
        values = np.empty((rows["f"],) + tuple(shape), dtype)
        flags = np.empty((rows["b"],) + tuple(shape), bool)
        return [values[r, ...] for r in range(rows["f"])] + \
            [flags[r, ...] for r in range(rows["b"])]  # arrays, 0-d ones too
    return make


def scratch_slots(region: Region, reads: dict, numpy_in_place: bool,
                  order: list | None = None) -> tuple[dict, dict]:
    """member -> (kind, row): its row in the scratch of its kind ("f": the region's dtype, "b":
    bool, a comparison's), for the members that are not outputs (numpy) or all but the
    reductions (numba), computed in `order` (default: the members'), rows reused once their
    value is dead; a member may take a row of its kind that an input frees at that member
    (elementwise: it reads each element before writing it). Also kind -> rows used."""
    nodes = region.graph.nx._node
    order = region.members if order is None else order
    outputs = set(region.outputs) if numpy_in_place else set()
    last = {}
    for t, name in enumerate(order):
        for i in reads[name]:
            last[i] = t
    slots: dict = {}
    free: dict = {"f": [], "b": []}
    used = {"f": 0, "b": 0}
    boolean = np.dtype(bool)
    for t, name in enumerate(order):
        inputs = reads[name]
        dying = [slots[i] for i in dict.fromkeys(inputs) if i in slots and last[i] == t]
        node = nodes[name]
        kind = "b" if node["dtype"] == boolean else "f"
        mine = [slot for slot in dying if slot[0] == kind]
        if name not in outputs and node["op"] not in REDUCTIONS:
            if mine and (len(inputs) <= 2 or not numpy_in_place):
                slots[name] = mine[0]
                dying.remove(mine[0])
            elif free[kind]:
                slots[name] = free[kind].pop()
            else:
                slots[name], used[kind] = (kind, used[kind]), used[kind] + 1
        for slot in dying:
            free[slot[0]].append(slot)
    return slots, used
