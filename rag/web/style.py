"""The page's look and its one script: CSS for the chat and sources panel, click-to-source JavaScript."""

# The page's look: answer on the left, a scrolling sources panel on the right, readable highlights.
CSS = """
.app-header { display: flex; justify-content: space-between; align-items: flex-end; gap: 1rem; flex-wrap: wrap; }
.app-header h1 { font-size: 1.6rem; font-weight: 700; margin: 0 0 0.2rem 0; }
.app-header p { margin: 0; opacity: 0.75; }
.model-pill { font-size: 0.82rem; padding: 0.3rem 0.75rem; border-radius: 999px; white-space: nowrap;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.docs-table { width: 100%; border-collapse: collapse; font-size: 0.92rem; border: none; }
.docs-table th, .docs-table td { border: none; }
.docs-table th { text-align: left; font-weight: 600; border-bottom: 2px solid var(--border-color-primary); padding: 0.45rem; }
.docs-table td { border-bottom: 1px solid var(--border-color-primary); padding: 0.45rem; vertical-align: top; }
.docs-table .doc-title { font-weight: 600; }
.docs-table .doc-file { font-family: var(--font-mono); font-size: 0.82rem; word-break: break-all; }
.docs-table .doc-chunks { text-align: right; }
#chatbot a.cite { font-weight: 600; text-decoration: none; padding: 0 1px; border-radius: 3px; }
#chatbot a.cite:hover { background: rgba(59, 130, 246, 0.15); }
#chatbot a.cite.unsupported { color: #b45309; text-decoration: underline dotted; }
#chatbot .unsupported-sentence { color: #6b7280; text-decoration: line-through dotted rgba(107, 114, 128, 0.6); }
#chatbot .not-found { color: #b45309; font-size: 0.85em; font-style: italic; white-space: nowrap; }
#chatbot .answer-meta { font-size: 0.78rem; opacity: 0.65; margin-top: 0.3rem; }
#chatbot .as-of { font-size: 0.85rem; font-weight: 600; margin-top: 0.4rem; }
#chatbot ol.timeline { list-style: none; padding-left: 0.9rem; border-left: 2px solid var(--color-accent); margin: 0.3rem 0; }
#chatbot ol.timeline li { margin: 0.35rem 0; }
#chatbot ol.timeline time { display: block; font-weight: 600; font-size: 0.85rem; }
#chatbot details.searched { font-size: 0.85rem; margin-top: 0.4rem; }
#chatbot details.searched summary { cursor: pointer; opacity: 0.75; }
#conversation-list .wrap { flex-direction: column; gap: 2px; }
#conversation-list label { width: 100%; font-size: 0.88rem; overflow: hidden; text-overflow: ellipsis; }
#sources { max-height: 640px; overflow-y: auto; padding-right: 4px; }
.sources-empty, .sources-refused, .sources-reading { opacity: 0.8; font-size: 0.92rem; padding: 0.5rem 0; }
details.sources-turn { margin-bottom: 0.75rem; }
details.sources-turn > summary { cursor: pointer; font-weight: 600; font-size: 0.9rem; margin-bottom: 0.5rem; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 0.7rem 0.85rem;
  margin: 0 0 0.7rem 0; background: var(--background-fill-secondary); transition: box-shadow 0.3s, border-color 0.3s; }
.source-card.focused { border-color: #3b82f6; box-shadow: 0 0 0 3px rgba(59, 130, 246, 0.35); }
.source-card.unsupported { border-style: dashed; }
.source-card header { display: flex; gap: 0.6rem; align-items: flex-start; margin-bottom: 0.4rem; }
.source-num { flex: none; background: #3b82f6; color: white; border-radius: 999px; min-width: 1.6rem; height: 1.6rem;
  display: inline-flex; align-items: center; justify-content: center; font-weight: 700; font-size: 0.85rem; }
.source-title { font-weight: 600; line-height: 1.3; }
.source-origin { font-size: 0.78rem; opacity: 0.7; word-break: break-all; }
.source-flag { font-size: 0.82rem; color: #b45309; margin: 0.2rem 0 0.4rem 0; }
.source-text { margin: 0; padding: 0 0 0 0.6rem; border-left: 3px solid var(--border-color-primary);
  font-size: 0.9rem; line-height: 1.5; white-space: pre-wrap; }
.source-text mark { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 3px; }
.source-translation { margin: 0.5rem 0 0 0; padding: 0.3rem 0.6rem; border-left: 3px dashed #94a3b8;
  font-size: 0.88rem; line-height: 1.5; }
.source-translation p { margin: 0.2rem 0 0 0; font-style: italic; }
.translation-label { font-size: 0.75rem; font-weight: 600; color: #64748b; }
"""

# A click on [n] in an answer opens that answer's sources, scrolls to source n and marks it.
CLICK_TO_SOURCE = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const card = document.getElementById(link.getAttribute("href").slice(1));
    if (!card) return;
    const group = card.closest("details");
    if (group) group.open = true;
    document.querySelectorAll(".source-card.focused").forEach((el) => el.classList.remove("focused"));
    card.classList.add("focused");
    const panel = card.closest("#sources");  // scroll the panel, not the page, when the panel scrolls
    if (panel && panel.scrollHeight > panel.clientHeight) {
      panel.scrollTop += card.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
    }
    const box = card.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 40) card.scrollIntoView({block: "nearest"});
  }, true);
}
"""
