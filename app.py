"""The browser chat, its OpenAI-compatible /v1 endpoint and its MCP server: ``python app.py [--host H] [--port P]``
(or ``make run``; ``rag chat`` once installed), all on http://127.0.0.1:7860.

Entry point only: the process is rag/web/serve.py (settings, access, the Assistant, the page).
"""
import sys

import rag  # noqa: F401  first: turns Gradio analytics and all other telemetry off before gradio loads
from rag.web.serve import main

if __name__ == "__main__":
    sys.exit(main())
