"""Raw dataset formats (COCO 2017, DAVIS 2017, YouTube-VOS 2019) -> the standardized HODOR JSON.

Imports point down only: ``cli`` -> ``run`` -> the per-format readers (``coco``, ``davis``,
``youtube_vos``) -> the shared modules (``records``, ``validate``, ``policy``) -> ``hodor.data`` (the
standardized JSON, palette PNGs, workspace layout). Nothing in ``hodor.data`` imports this package.
"""
