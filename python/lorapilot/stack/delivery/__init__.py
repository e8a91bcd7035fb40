"""Delivery checks over the locked environments: which wheels each installs (locks), a small ELF
reader (elf), a verified wheel cache (wheelcache), the offline linkage check autoPatchelf would
do (linkage) and the image's pull-size report (imagesize). Used by scripts/check-* and the tests."""
