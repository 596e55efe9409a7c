"""Sessions on a Dask cluster: data-parallel training steps (`split=`) and chunked inference.

`sg.Session(target=client)` (a `dask.distributed.Client`) or `sg.Session(target="tcp://host:8786")`
keeps the variables in this process and sends each worker the compiled graph as graph-file JSON
(never pickled code). `sess.run(fetches, feed_dict, split={x: 0, y: 0})` shards those feeds,
has each worker compute the loss and gradients of its shard, puts them together with the right
weights (`split`) and applies the updates once, here; a dask.array feed gives dask.array results
computed chunk by chunk (`chunked`). Needs the `dist` extra: pip install "staticgraph[dist]".

What to expect:
- a split placeholder must leave the split axis's size open (None);
- a value that mixes the examples (a max or variance over the batch, a random draw, control
  flow, a custom gradient) is computed in the session from the per-example values the workers
  send back: right, but that part does not run in parallel; with dask.array feeds it is refused;
- a loss adding a mean over the batch to a sum over it is right too, but its gradients are
  finished in the session from per-example values (each shard's weight differs between the two);
- runs with neither `split` nor dask.array feeds run in the session's process, and so do all
  runs of a session without a target (where `split` changes nothing in the results).
"""
