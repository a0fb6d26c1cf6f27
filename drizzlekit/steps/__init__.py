"""The AstroDrizzle steps as pure functions on arrays and WCS objects.

No step reads or writes files; the pipeline (``drizzlekit.pipeline``) feeds
them and keeps every intermediate product.

=================  ===============================================
module             step (spec section)
=================  ===============================================
``static_mask``    2: static bad-pixel mask (§4)
``sky``            3: sky per chip (§5)
``median``         5: median of the single-drizzled images (§7)
``drizzle_steps``  4 and 8: drizzle separate and final drizzle (§6, §10)
``blot_step``      6: blot the median back to each chip (§8)
``driz_cr``        7: cosmic rays against the blotted median (§9)
=================  ===============================================
"""

from .blot_step import blot_chip
from .driz_cr import cr_clean, driz_cr, qderiv
from .drizzle_steps import DrizzleInput, drizzle_separate, final_drizzle
from .median import COMBINE_TYPES, combine_median, weight_masks
from .sky import SKY_METHODS, SKY_STATS, SkyInput, compute_sky
from .static_mask import static_mask

__all__ = [
    "static_mask",
    "SkyInput", "compute_sky", "SKY_METHODS", "SKY_STATS",
    "combine_median", "weight_masks", "COMBINE_TYPES",
    "qderiv", "driz_cr", "cr_clean",
    "DrizzleInput", "drizzle_separate", "final_drizzle", "blot_chip",
]
