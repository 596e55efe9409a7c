"""Chunked inference: a dask.array feed gives dask.array results, one task per chunk.

Each chunk of the fed array (chunked along its batch axis, axis 0 unless `split` says another)
is computed by a worker running the compiled graph on that chunk only; the input is never
gathered. A fetch with one entry per example comes back chunked as the input; a sum or mean
over the examples comes back as a one-chunk dask.array put together from the chunks' partial
results (`split.combine`); a fetch that mixes examples in any other way (a max
over the batch, a batch normalisation) is refused. Fetches the dask feeds do not reach are
computed in the session and returned as numpy values.
"""
from __future__ import annotations

import math

import numpy as np

from staticgraph.distributed.split import BATCH, combine
from staticgraph.distributed.worker import pick, run_shard
from staticgraph.errors import InvalidArgumentError
from staticgraph.nest import flatten, unflatten
from staticgraph.ops.registry import get_op
from staticgraph.ops.shapes import compatible, fmt
from staticgraph.runtime.feeds import check_feed, node_name


def is_dask_array(value) -> bool:
    """True for a dask.array (recognised without importing dask)."""
    return type(value).__module__.startswith("dask.array") and hasattr(value, "chunks")


def run_chunked(cluster, fetches, feeds: dict, axes: dict):
    """`Session.run` with dask.array feeds (see the module docstring)."""
    import dask
    import dask.array as da

    graph = cluster.session.graph
    chunked = {n: v for n, v in feeds.items() if is_dask_array(v)}
    plain = sorted(set(axes) - set(chunked))
    if plain:
        raise InvalidArgumentError(f"split names {plain}, fed numpy arrays beside dask.array "
                                   f"feeds; feed them as dask.arrays chunked alike")
    sizes = _chunk_sizes(graph, chunked, axes)
    others = {n: check_feed(graph, n, v) for n, v in feeds.items() if n not in chunked}
    plan = cluster.plan(fetches, tuple(feeds), axes)
    fetch_names = [node_name(graph, f, "fetch") for f in flatten(fetches)]
    for name in plan.mixing(fetch_names):
        node = graph.node(name)
        if node["role"] == "update" or "stateful" in get_op(node["op"]).traits:
            raise InvalidArgumentError(
                f"{node['op']} {name!r} (created at {node['source']}) changes state; a "
                f"dask.array feed only computes values, chunk by chunk: train with numpy "
                f"feeds and split= instead")
        raise InvalidArgumentError(
            f"{node['op']} {name!r} (created at {node['source']}) mixes the examples of the "
            f"dask.array feed(s) {sorted(chunked)} across their chunks (it is not a value per "
            f"example, nor a sum or mean over them), so it cannot be computed chunk by chunk; "
            f"fetch the per-example values and reduce them with dask, or feed a numpy array")
    local = [n for n in fetch_names if n not in plan.reached]
    known = dict(zip(local, cluster.session._run_checked(local, others))) if local else {}
    if plan.cut:
        blocks = {n: list(v.to_delayed().reshape(-1)) for n, v in chunked.items()}
        variables = cluster.variables_on_workers(plan.variables)
        task = dask.delayed(run_shard, pure=True)
        shards = [task(cluster.graph_on_workers(plan), plan.digest, plan.cut, plan.worker_feeds,
                       dict(cluster.session._options), variables,
                       [blocks[n][i] if n in chunked else others[n] for n in plan.worker_feeds])
                  for i in range(len(sizes))]
        for j, name in enumerate(plan.cut):
            if name in fetch_names:
                known[name] = _result(da, dask, graph, name, plan.parts[name], shards, j, sizes)
    for name in chunked:
        known.setdefault(name, chunked[name])
    return unflatten(fetches, [known[n] for n in fetch_names])


def _chunk_sizes(graph, chunked: dict, axes: dict) -> list:
    """The chunk sizes along the split axis, which every dask feed must share; every other
    axis must be one chunk."""
    sizes = None
    for name, value in chunked.items():
        axis, node = axes[name], graph.node(name)
        if not compatible(node["shape"], tuple(None if math.isnan(d) else d for d in value.shape)):
            raise InvalidArgumentError(f"dask.array of shape {value.shape} does not fit "
                                       f"{node['op']} {name!r}, whose shape is {fmt(node['shape'])}")
        if any(len(c) != 1 for i, c in enumerate(value.chunks) if i != axis):
            raise InvalidArgumentError(
                f"the dask.array fed to {name!r} is chunked along axes other than {axis} "
                f"(chunks {value.chunks}); rechunk it so each chunk holds whole examples, "
                f"e.g. x.rechunk({{{', '.join(f'{i}: -1' for i in range(value.ndim) if i != axis)}}})")
        these = list(value.chunks[axis])
        if any(math.isnan(c) for c in these):
            raise InvalidArgumentError(f"the dask.array fed to {name!r} has unknown chunk sizes; "
                                       f"call .compute_chunk_sizes() first")
        if sizes is not None and these != sizes:
            raise InvalidArgumentError(f"the dask.array feeds are chunked differently along "
                                       f"their split axes: {sizes} and {these} ({name!r})")
        sizes = these
    return [int(s) for s in sizes]


def _result(da, dask, graph, name: str, part, shards: list, j: int, sizes: list):
    """The dask.array of fetch `name`, the j-th value each shard computes."""
    node = graph.node(name)
    shape = tuple(np.nan if d is None else d for d in node["shape"])
    total = sum(sizes)
    if part.kind == BATCH:
        pieces = []
        for shard, size in zip(shards, sizes):
            factor = (total / size) ** (part.power or 0)
            piece = shape[:part.axis] + (size,) + shape[part.axis + 1:]
            pieces.append(da.from_delayed(dask.delayed(pick, pure=True)(shard, j, factor),
                                          piece, dtype=node["dtype"]))
        return da.concatenate(pieces, axis=part.axis)
    parts = [dask.delayed(pick, pure=True)(shard, j, 1.0) for shard in shards]
    whole = dask.delayed(combine, pure=True)(part, parts, sizes, total)
    return da.from_delayed(whole, shape, dtype=node["dtype"])
