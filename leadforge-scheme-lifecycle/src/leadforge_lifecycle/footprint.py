"""How much memory and disk a lifecycle run needs, estimated from its config before it starts.

A process holds one shard of customers at a time (``shard_size``, 10k by default) plus the
world-level accounts (a third as many as customers, a few numbers each: about 15 bytes per
customer, pickled once more when the world is shared with workers). The accounts table and
the hidden-truth registry are written block by block and shard by shard, so nothing else grows
with the customer count. Measured with ``/usr/bin/time`` (instructor mode): 250 MB peak at
1.5k customers (one shard of 1.5k), 480 MB at 20k, 518 MB at 100k and 513 MB at 300k (shards of
10k); 1.9 KB of instructor bundle per customer. The estimate is for the largest process: with
``--workers`` every worker process holds a shard of its own.
"""

from __future__ import annotations

from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.footprint import Footprint

from leadforge_lifecycle.params import LifecycleParams

BASE_BYTES = 250_000_000
SHARD_BYTES_PER_CUSTOMER = 27_000
BYTES_PER_CUSTOMER = 64
DISK_BYTES_PER_CUSTOMER = {ExposureMode.STUDENT_PUBLIC: 1_500, ExposureMode.RESEARCH_INSTRUCTOR: 2_000}


def footprint(config: GenerationConfig) -> Footprint:
    p = config.params_as(LifecycleParams)
    shard = min(p.shard_size, p.n_customers)
    memory = BASE_BYTES + SHARD_BYTES_PER_CUSTOMER * shard + BYTES_PER_CUSTOMER * p.n_customers
    disk = DISK_BYTES_PER_CUSTOMER[config.exposure_mode] * p.n_customers
    return Footprint(memory, disk, "customers", p.n_customers)
