"""Bundled training recipes: ``python -m trainers ARCH --data DIR --name NAME``.

``loop.py`` is the one generic loop; each family module (``diffusion.py``, ...) supplies its data
loading, batches and preview sampler. The app runs these as a child process, never in-process.
"""
