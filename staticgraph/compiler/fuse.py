"""fuse_updates: a variable update by a scaled matrix product becomes one gemm.

Before: any graph. After: each assign_add / assign_sub of a float32 or float64 variable by
`c * (a @ b)`, `(a @ b) * c` or `a @ b` alone, with a and b 2-D and c a one-element constant or
a 0-d tensor (a fed learning rate), is an `assign_add_matmul` of a and b (a 2-D transpose of
either read untransposed, with a flag), with alpha = +c or -c for a constant, or ±1 and c as a
third input, when the product has the variable's static shape, it and its scaling are used by
nothing else (neither fetched nor read by another node, nor waited for) and wait for nothing
themselves, and the variable has at least `min_elements` elements. So is a variable's only
update when it assigns `v - c * (a @ b)` or `v + ...` with v a read of that variable, as TF1
code writes SGD by hand. The update keeps its name and its effect; the product, its scaling and
such a sum are gone, and so are a transpose and a constant that nothing else read.

This is SGD's step `w.assign_sub(lr * (x.T @ d))`: numpy writes the product into a temporary,
scales it and subtracts it, three passes over a matrix of w's size; the fused update adds the
product into w in one BLAS call (see `staticgraph.ops.blas.add_product`). The value differs
from the unfused one by rounding only (one rounding step fewer). A call through ctypes costs a
few microseconds more than numpy's matmul, which the two passes it saves repay only for larger
variables: on the W2 benchmark's 256x10 weight the fused step was 7 us slower, on its 256x256
weight 10 us faster.
"""
from __future__ import annotations

import numpy as np

from staticgraph.compiler.rewrite import (UPDATES, VARIABLE, Replace, by_variable, constant_value,
                                          fetches_of, rebuild, transposed_matrix)
from staticgraph.graph import Graph
from staticgraph.ops.shapes import num_elements

_SIGNS = {"assign_add": 1.0, "assign_sub": -1.0}
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
MIN_ELEMENTS = 1 << 14  # smaller variables are updated faster unfused (see the module doc)


def fuse_updates(graph: Graph, min_elements: int = MIN_ELEMENTS) -> Graph:
    """A new graph in which updates by a scaled matrix product are single gemm updates (the
    input itself, unchanged, when there are none).

    Example:
        >>> import numpy as np, staticgraph as sg
        >>> from staticgraph.compiler import fuse_updates
        >>> g = sg.Graph()
        >>> with g.as_default():
        ...     x = sg.placeholder(sg.float32, (8, 3), name="x")
        ...     d = sg.placeholder(sg.float32, (8, 2), name="d")
        ...     w = sg.Variable(np.zeros((3, 2), np.float32), name="w")
        ...     step = w.assign_sub(0.1 * sg.matmul(sg.transpose(x), d), name="step")
        >>> fused = fuse_updates(g, min_elements=1)
        >>> node = fused.node("step")
        >>> node["op"], fused.inputs("step"), node["attrs"]["transpose_a"]
        ('assign_add_matmul', ['x', 'd'], True)
        >>> sorted(set(g.nx) - set(fused.nx))   # the product, its scaling, the transpose, 0.1
        ['Const', 'matmul', 'multiply', 'transpose']
        >>> round(node["attrs"]["alpha"], 6)   # -0.1 as a float32
        -0.1
    """
    fused, absorbed = _fusions(graph, min_elements)
    if not fused:  # the common case outside training steps: no copy to make
        return graph
    return rebuild(graph, lambda new, name, node, inputs: fused.get(name),
                   keep=[n for n in graph.nx if n not in absorbed])


def _fusions(graph: Graph, min_elements: int) -> tuple[dict, set]:
    """update -> its fused definition, and the nodes only the fused updates needed (each
    product and its scaling, and a transpose or constant nothing else reads)."""
    fetched = set(fetches_of(graph))

    def alone(name: str) -> bool:
        """True when `name`'s value goes to one reader only and it waits for nothing."""
        return name not in fetched and graph.nx.out_degree(name) == 1 \
            and not graph.control_inputs(name)

    updates = by_variable(graph, graph.nx, UPDATES)
    fused, absorbed = {}, set()
    for name, node in graph.nx.nodes(data=True):
        if node["op"] not in ("assign", *_SIGNS) or node["dtype"] not in _DTYPES \
                or (num_elements(node["shape"]) or 0) < min_elements:
            continue
        increment = _increment(graph, name, node, alone, len(updates[node["attrs"]["var"]]))
        found = None if increment is None else _scaled_product(graph, increment[1], alone)
        if found is None or graph.nx.nodes[found[0]]["shape"] != node["shape"]:
            continue  # (a product of another static shape would be broadcast)
        (sign, value, wrapper), (product, scale, scale_input, folded) = increment, found
        operands = graph.inputs(product)
        (a, transpose_a), (b, transpose_b) = (_untransposed(graph, i) for i in operands)
        fused[name] = Replace("assign_add_matmul", (a, b, *scale_input), dict(
            node["attrs"], alpha=sign * scale, transpose_a=transpose_a, transpose_b=transpose_b))
        bypassed = {i for i, flag in zip(operands, (transpose_a, transpose_b)) if flag}
        absorbed |= {value, product, *wrapper} | {i for i in bypassed | set(folded) if alone(i)}
    return fused, absorbed


def _increment(graph: Graph, name: str, node: dict, alone, updates: int) -> tuple | None:
    """(sign, value, wrapper) when update `name` adds sign * value to its variable: assign_add
    and assign_sub of value (no wrapper), or the variable's only update assigning it
    `v + value`, `value + v` or `v - value` with v a read of it that waits for nothing
    (wrapper: that sum, read by the update alone); else None."""
    (value,) = graph.inputs(name)
    if node["op"] in _SIGNS:
        return _SIGNS[node["op"]], value, ()
    op = graph.nx.nodes[value]["op"]
    if node["op"] != "assign" or updates != 1 or op not in ("add", "subtract") or not alone(value):
        return None
    x, y = graph.inputs(value)
    pairs = ((x, y), (y, x)) if op == "add" else ((x, y),)
    for read, other in pairs:
        read_node = graph.nx.nodes[read]
        if read_node["op"] == VARIABLE and read_node["attrs"]["var"] == node["attrs"]["var"] \
                and not graph.control_inputs(read):
            return (1.0 if op == "add" else -1.0), other, (value,)
    return None


def _scaled_product(graph: Graph, value: str, alone) -> tuple | None:
    """(the 2-D matmul, the constant scaling it, () or (the 0-d tensor scaling it,), () or (the
    constant's node,)) when `value` is such a matmul, scaled or not, used by its reader alone;
    else None."""
    if not alone(value):
        return None
    node = graph.nx.nodes[value]
    if node["op"] == "matmul":
        found = value, 1.0, (), ()
    elif node["op"] == "multiply":
        found = _scalar_times(graph, value)
        if found is None or not alone(found[0]):
            return None
    else:
        return None
    product = found[0]
    if graph.nx.nodes[product]["op"] != "matmul" or any(
            len(graph.nx.nodes[i]["shape"]) != 2 for i in graph.inputs(product)):
        return None
    return found


def _scalar_times(graph: Graph, name: str) -> tuple | None:
    """(the other operand, constant, tensor, constant's node) as `_scaled_product` gives them,
    when multiply `name` scales its other operand by a one-element constant or a 0-d tensor
    without changing its shape; else None."""
    node = graph.nx.nodes[name]
    x, y = graph.inputs(name)
    for scale, other in ((x, y), (y, x)):
        if graph.nx.nodes[other]["shape"] != node["shape"]:
            continue
        value = constant_value(graph, scale)
        if value is not None and value.size == 1:
            return other, float(value.reshape(())), (), (scale,)
        if value is None and graph.nx.nodes[scale]["shape"] == ():
            return other, 1.0, (scale,), ()
    return None


def _untransposed(graph: Graph, name: str) -> tuple[str, bool]:
    """(operand, transposed): the input of a 2-D transpose that waits for nothing, with True;
    any other operand as it is, with False."""
    matrix = transposed_matrix(graph, name)
    if matrix is not None and not graph.control_inputs(name):
        return matrix, True
    return name, False
