"""Scale-out on Dask: one margin run over many machines, with the single-machine figures.

``pmfast.distributed.margin(client, positions=..., ...)`` margins shards of whole accounts on the
workers of a ``dask.distributed`` cluster and returns the single-machine per-account table;
``partition_positions`` rewrites a positions source into a dataset of account ranges, one file
per partition, that the workers read themselves. Dask is an optional extra
(``pip install "pmfast[dask]"``): only ``margin`` needs it, and ``import pmfast`` never imports
it. See docs/distributed.md.
"""
from pmfast.distributed.partition import partition_positions, plan_shards
from pmfast.distributed.run import DistributedRun, margin

__all__ = ["margin", "partition_positions", "plan_shards", "DistributedRun"]
