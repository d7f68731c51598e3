"""The benchmark room: how fast the assistant is on this machine, measured against baselines in one run.

``stages`` holds each measured stage (generation against bare llama.cpp, ingest, retrieval at growing
sizes, start-up), ``run`` runs them in fresh processes, ``report`` renders the table. It may import the
pipeline and the evaluation's pure metrics; the pipeline never imports it. Its command is ``rag bench``.
"""
