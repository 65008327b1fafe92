"""How much memory and disk a lifecycle run needs, estimated from its config before it starts.

One shard of customers is simulated at a time; the hidden-truth files grow with every customer.
The rates were measured with ``/usr/bin/time`` on 100k and 1M-customer runs (about 600 MB and
1.1 GB peak; 1.9 KB of instructor bundle per customer) and rounded so that a run that fits is
not refused.
"""

from __future__ import annotations

from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.footprint import Footprint

from leadforge_lifecycle.params import LifecycleParams

BASE_BYTES = 400_000_000
SHARD_BYTES_PER_CUSTOMER = 20_000
BYTES_PER_CUSTOMER = 800
DISK_BYTES_PER_CUSTOMER = {ExposureMode.STUDENT_PUBLIC: 1_500, ExposureMode.RESEARCH_INSTRUCTOR: 2_000}


def footprint(config: GenerationConfig) -> Footprint:
    p = config.params_as(LifecycleParams)
    shard = min(p.shard_size, p.n_customers)
    memory = BASE_BYTES + SHARD_BYTES_PER_CUSTOMER * shard + BYTES_PER_CUSTOMER * p.n_customers
    disk = DISK_BYTES_PER_CUSTOMER[config.exposure_mode] * p.n_customers
    return Footprint(memory, disk, "customers", p.n_customers)
