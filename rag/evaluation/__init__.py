"""The evaluation room: how well the assistant answers a test set, judged by references it never sees.

``testset`` loads and checks a test set, ``run`` asks its questions through the pipeline's one answer
path (``rag.pipeline.Assistant``), ``metrics`` scores the answers (pure functions), ``report`` renders
the Markdown, JSON and chart. It may import the pipeline (``rag.*`` stage modules); the pipeline never
imports it. Its command is ``rag eval`` (rag/cli.py); the chat's Evaluation tab calls ``run`` too.
"""
