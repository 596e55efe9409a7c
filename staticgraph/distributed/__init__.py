"""Sessions on a Dask cluster: data-parallel training steps (`split=`) and chunked inference.

`sg.Session(target=client)` (a `dask.distributed.Client`) or `sg.Session(target="tcp://host:8786")`
keeps the variables in this process and sends each worker the compiled graph as graph-file JSON
(never pickled code). `sess.run(fetches, feed_dict, split={x: 0, y: 0})` shards those feeds,
has each worker compute the loss and gradients on its shard, puts them together with the right
weights (`split`) and applies the updates once, here; a dask.array feed gives dask.array results
computed chunk by chunk (`chunked`). Needs the `dist` extra: pip install "staticgraph[dist]".
"""
