"""HODOR: High-level Object Descriptors for Object Re-segmentation in video.

A re-implementation of Athar et al., CVPR 2022, with the data conversion, training, inference and
DAVIS / YouTube-VOS scoring needed to rebuild the paper's results. The package is a plain library:
configs are typed dataclasses built once at the edge (a DVC stage or the ``hodor`` command).
"""

__version__ = "0.1.0"
