"""Text rules, defined once: sentences, words and ``[n]`` citation markers.

Every stage that cuts text into sentences (chunking, the context's sentence selection, the citation
check, the answer's claims, the hostile-text filter) or into words (BM25, the support check, the
metrics) uses these functions, so a fix reaches them all at once.

Sentences: sentencex (a maintained rule-based segmenter) cuts each line, and a sentence never ends
after an abbreviation such as "U.S.", "Dr.", "J." or "Calif.". Chosen by measurement: on the 146 of
919 passages (seed article and RGB) where splitters disagreed, judged by hand, this regex-free rule made
the fewest errors (docs/dependencies.md).
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, Sequence

OPENERS = "“‘\"'([«"  # an opening quote or bracket at a sentence's end belongs to the next one
LEADING_MARKERS = re.compile(r"(?:\[\s*(?:sources?\s*)?\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+", re.IGNORECASE)
# Words that end in a full stop without ending the sentence: titles, initials, dotted acronyms.
ABBREVIATION = re.compile(
    r"(?:^|[\s(\"'“‘])(?:(?:[A-Za-z]\.){2,}|[A-Z]\.|(?:Mr|Mrs|Ms|Mx|Dr|Prof|Sr|Jr|St|Sen|Rep|Gov|Gen|Lt|Col|Sgt|Capt"
    r"|Cmdr|Adm|Pres|Rev|Hon|Mt|Ft|vs|No|Nos|Fig|Vol|Ver|Rs|approx|ca|cf|Jan|Feb|Aug|Sept|Oct|Nov|Dec"
    r"|Ala|Ariz|Ark|Calif|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Ky|La|Md|Mass|Mich|Minn|Miss|Mo|Mont|Neb|Nev|Okla|Ore|Pa"
    r"|Penn|Tenn|Tex|Va|Vt|Wash|Wis|Wyo)\.)$")
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # the CJK unified ideographs (Chinese characters)
WORD = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+", re.UNICODE)  # a run of Chinese characters, or of other letters and digits
HAN_RUN = re.compile(rf"[{HAN}]")
CJK_END = re.compile(r"[。！？][”」』’\"')）]*$")
CJK_STOP = re.compile(r"[^。！？\n]*[。！？]+[”」』’\"')）]*|[^。！？\n]+")  # a piece ending at a Chinese full stop
# [1], [1, 2], [1][2], [Source 3]; the leading whitespace belongs to the marker.
MARKER = re.compile(r"\s*\[(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*)\]", re.IGNORECASE)
STOPWORDS = frozenset("""a an and are as at be been but by can did do does for from had has have he her his how i
if in into is it its it's of on or our she so than that the their them then there these they this to
was we were what when where which who whom why will with would you your also not no more most just about
多少 什么 哪个 哪些 哪里 怎么 怎样 如何 为什么 是否 是不是 我们 你们 他们 她们 它们 已经 可以 没有 这个 那个 这些
那些 这样 那样 以及 还是 或者 但是 因为 所以 如果 虽然 关于 对于 根据 其中 之后 之前 以后 以前 一个 一些
""".split())


def sentence_spans(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, ends_paragraph) of each sentence, whitespace between them left out.

    Each line is segmented by sentencex (Wikimedia's rule-based segmenter: abbreviations, initials,
    decimals, quotations); then a piece after a non-final abbreviation ("U.S.", "Dr.") or with no space
    before it ("window.__x") is joined to the sentence before it, and citation markers that open a piece
    ("… China. [1] Next") go back to the sentence they follow.
    ``sentence_spans('Hi. Yo!\n\nNew.') -> [(0, 3, False), (4, 7, True), (9, 13, True)]``
    ``sentence_spans('Dr. Li met the U.S. team. Ok.') -> [(0, 25, False), (26, 29, True)]``
    ``sentence_spans('It read window.__x here. Ok.') -> [(0, 24, False), (25, 28, True)]``
    """
    spans: list[tuple[int, int, bool]] = []
    for start, end in segment(text):
        para = text.startswith("\n", end) or end == len(text)
        if spans and not spans[-1][2] and "\n" not in text[spans[-1][1]:start]:  # a line break always ends one
            marker = LEADING_MARKERS.match(text, start, end)
            if marker:  # "[1]" opening a piece cites the sentence before it
                if marker.end() >= end:
                    spans[-1] = (spans[-1][0], end, para)
                    continue
                spans[-1] = (spans[-1][0], len(text[:marker.end()].rstrip()), False)
                start = marker.end()
            glued = start == spans[-1][1] and not CJK_END.search(text, 0, spans[-1][1])  # "。" needs no space after it
            if glued or continues(text, spans[-1][1], start):  # no space: "window.__x" goes on
                spans[-1] = (spans[-1][0], end, para)
                continue
        spans.append((start, end, para))
    return spans


def segment(text: str) -> list[tuple[int, int]]:
    """sentencex's sentences of each line, as trimmed (start, end) character spans.

    sentencex does not break at a single line break, so lines are cut first, and a line with Chinese characters at
    its full stops (。！？, a closing quote staying with its sentence); it leaves the next sentence's opening quote on
    the end of a sentence ('devices. “'), which is handed on.
    ``segment('It rained. We left.\nEnd.') -> [(0, 10), (11, 19), (20, 24)]``; ``segment('下雨了。我们走了！') -> [(0, 4), (4, 9)]``
    """
    import sentencex

    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        carry = None
        found = line.group()
        pieces = [(m.start(), m.group()) for m in CJK_STOP.finditer(found)] if HAN_RUN.search(found) else [(0, found)]
        bounds = [(line.start() + at + bound["start_index"], line.start() + at + bound["end_index"])
                  for at, piece in pieces for bound in sentencex.get_sentence_boundaries("en", piece)]
        for start, end in bounds:
            if carry is not None:
                start, carry = carry, None
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end - start >= 2 and text[end - 1] in OPENERS and text[end - 2].isspace():
                carry, end = end - 1, end - 2
                while end > start and text[end - 1].isspace():
                    end -= 1
            if start < end:
                spans.append((start, end))
        if carry is not None:
            spans.append((carry, carry + 1))
    return spans


def continues(text: str, previous_end: int, start: int) -> bool:
    """Whether the piece at start continues the sentence that ended at previous_end: it does when
    that sentence ends with an abbreviation that never ends one.

    ``continues('the U.S. May', 8, 9) -> True``; ``continues('Done. Next', 5, 6) -> False``
    """
    return bool(ABBREVIATION.search(text[max(0, previous_end - 12):previous_end]))


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: ``sentences('It rained. We left.') -> [(0, 10), (11, 19)]``."""
    return [(start, end) for start, end, _ in sentence_spans(text)]


def join_spans(spans: list[tuple[int, int]], joins: Callable) -> list[tuple[int, int]]:
    """(start, end) spans in order, each one for which ``joins(previous, span)`` holds merged into the one before.

    ``join_spans([(0, 2), (3, 5), (6, 8)], lambda previous, span: span[0] == 3) -> [(0, 5), (6, 8)]``
    """
    joined: list[tuple[int, int]] = []
    for span in spans:
        if joined and joins(joined[-1], span):
            joined[-1] = (joined[-1][0], span[1])
        else:
            joined.append(span)
    return joined


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits; a run of Chinese characters cut into its words):
    ``words("Altman's U.S. plan-B") -> ['altman', 's', 'u', 's', 'plan', 'b']``;
    ``words('2018年中国城镇新增就业') -> ['2018', '年', '中国', '城镇', '新增', '就业']``"""
    found = WORD.findall(text.lower())
    if not HAN_RUN.search(text):
        return found
    return [word for token in found for word in (han_words(token) if HAN_RUN.match(token) else [token])]


def han_words(run: str) -> list[str]:
    """The words of a run of Chinese characters (rjieba, loaded on first use): ``han_words('中国城镇') -> ['中国', '城镇']``."""
    import rjieba

    return [word for word in rjieba.cut(run) if word.strip()]


def is_han(word: str) -> bool:
    """``is_han('中国') -> True``; ``is_han('China') -> False``"""
    return bool(HAN_RUN.match(word))


# Words that point back into a conversation: a follow-up holding one needs rewriting before it can be searched.
REFERRING = frozenset("""he him his himself she her hers herself it its itself they them their theirs themselves
this that these those there then such same former latter other another else also too either neither""".split())
OPENERS_BACK = ("and ", "but ", "so ", "what about", "how about", "why not", "what else")


def stands_alone(question: str) -> bool:
    """True when a question names what it asks about: at least four words, no word that points back into the
    conversation (he, it, that, there, also…) and no opening like "and…" or "what about…".

    ``stands_alone('What did OpenAI release in August?') -> True``; ``stands_alone('Why did he say that?') -> False``;
    ``stands_alone('And Meta?') -> False``
    """
    found = words(question)
    start = " ".join(found[:2]) + " "
    return len(found) >= 4 and not REFERRING.intersection(found) and not start.startswith(OPENERS_BACK)


def points_back_to(earlier: Sequence[str], most: int = 3) -> list[str]:
    """The earlier questions a follow-up leans on: from the last one back to the latest that stands alone
    (at most ``most``), oldest first.

    ``points_back_to(['Who is Sam Altman?', 'What does he think about export controls?'])
    -> ['Who is Sam Altman?', 'What does he think about export controls?']``;
    ``points_back_to(['Who is Sam Altman?', 'What did OpenAI release in August?']) -> ['What did OpenAI release in August?']``
    """
    chain = []
    for asked in reversed(earlier[-most:]):
        chain.insert(0, asked)
        if stands_alone(asked):
            break
    return chain


def numbers(text: str) -> set[str]:
    """The numbers a text names, as written: ``numbers('The 2018 Tour, stage 3 of 21') -> {'2018', '3', '21'}``."""
    return {w for w in WORD.findall(text) if w.isdigit()}


def stem(word: str) -> str:
    """Strip one common English suffix so 'controls'/'control' and 'released'/'release' meet (Chinese words are
    kept as they are)."""
    if is_han(word):
        return word
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased words minus stopwords, crudely stemmed; a Chinese word of two characters or more counts (one
    character is mostly a particle or a measure word): ``content_words('The chips are banned') -> {'chip', 'bann'}``;
    ``content_words('中国的就业人数') -> {'中国', '就业', '人数'}``"""
    return {stem(w) for w in words(text)
            if w not in STOPWORDS and (len(w) > 2 or w.isdigit() or (len(w) == 2 and is_han(w)))}


def parse_markers(text: str) -> list[tuple[int, int, list[int]]]:
    """(start, end, numbers) of each citation marker.

    ``parse_markers('Yes [1, 3].') -> [(3, 10, [1, 3])]``
    """
    return [(m.start(), m.end(), [int(n) for n in re.findall(r"\d+", m.group(1))]) for m in MARKER.finditer(text)]


def strip_markers(text: str) -> str:
    """The text without citation markers, spacing before punctuation tidied.

    ``strip_markers('Prices rose [1]. Yes [2, 3] .') -> 'Prices rose. Yes.'``
    """
    return re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", text)).strip()


def rewrite_markers(text: str, rewrite: Callable[[list[int]], str]) -> str:
    """Each marker (with its leading space) replaced by ``rewrite(numbers)``.

    ``rewrite_markers('A [1, 2].', lambda ns: f'<{ns[0]}>') -> 'A<1>.'``
    """
    return MARKER.sub(lambda m: rewrite([int(n) for n in re.findall(r"\d+", m.group(1))]), text)


def numbers_of(groups: Iterable[list[int]]) -> list[int]:
    """The numbers of several markers, first appearance first: ``numbers_of([[2], [1, 2]]) -> [2, 1]``."""
    return list(dict.fromkeys(n for group in groups for n in group))



# What a Markdown renderer turns into a fetch or a live link, each found by the one character that completes it,
# looking only backwards (so a stream can be made inert piece by piece, see inert_piece). "space" characters get
# a space before them, "wrap" characters parentheses around them.
SCHEMES = ("ftps", "sftp", "file", "data", "javascript", "vbscript", "xmpp", "tel", "sms", "ws", "wss", "irc")
LINKED_SCHEMES = ("http", "https", "ftp", "mailto")  # linkifiers find these inside a word too ("xhttp://…")
INERT = re.compile(
    r"(?P<space>(?<=\])[(\[:]"  # ![x](url), [x](javascript:…), [x][ref], [ref]: url  ->  "] (", "] [", "] :"
    r"|(?<=<)[A-Za-z/!?])"  # raw HTML (<img src=…>) and autolinks (<http://…>)  ->  "< img", "< http…"
    r"|(?P<wrap>(?i:" + "|".join([*(rf"(?<=\b{s})" for s in SCHEMES), *(f"(?<={s})" for s in LINKED_SCHEMES)])
    + r"):"  # http://…  ->  "http(:)//…"
    r"|(?i:(?<=\bwww))\."  # www.example.com  ->  "www(.)example.com"
    r"|(?<=\w)@)")  # name@example.com  ->  "name(@)example.com"
INERT_CONTEXT = 16  # characters of lookbehind INERT needs at most ("\bjavascript" is 11)


def inert(text: str) -> str:
    """Markdown and HTML with no image, link, autolink or bare URL left: one rule for every face's output.

    An article (or a model copying it) can hold ``![x](http://elsewhere/?q=…)``, which a renderer would fetch,
    or ``[click](javascript:…)``. Each is broken by a space, or a character wrapped in parentheses; nothing is
    removed (the text is a subsequence of the result), so it still reads as written:
    ``inert('![x](http://e.com/a.png)') -> '![x] (http(:)//e.com/a.png)'``;
    ``inert('<img src=x> a@b.org www.e.com') -> '< img src=x> a(@)b.org www(.)e.com'``;
    ``inert('Ann [1].') -> 'Ann [1].'``.
    """
    return INERT.sub(lambda m: " " + m.group(0) if m.group("space") else f"({m.group(0)})", text or "")


def inert_piece(before: str, piece: str) -> str:
    """The inert form of piece written after the text before it, for a stream made inert piece by piece:
    ``inert_piece('See ![x]', '(u)') -> ' (u)'``, as ``inert('See ![x](u)') == 'See ![x] (u)'``."""
    context = before[-INERT_CONTEXT:]
    return inert(context + piece)[len(inert(context)):]


# The languages an answer can be asked in, by the words that tell them apart in a short question (each language's
# most common function words); Chinese by its characters.
LANGUAGES = {"en": "English", "zh": "Chinese", "de": "German", "fr": "French", "es": "Spanish"}
FUNCTION_WORDS = {
    "en": set("the is are was were what who which when where why how does did of and in to a an".split()),
    "de": set("der die das ist sind war wer was wie wann wo warum welche welcher welches und von im den dem des ein eine "
              "einen hat wurde nicht mit für auf".split()),
    "fr": set("le la les est sont était qui que quoi quel quelle quels quand où comment pourquoi et de des du un une "
              "au aux a été pour dans sur avec qu".split()),
    "es": set("el la los las es son era quién quien qué que cuál cuándo dónde cómo por porqué y de del un una en al "
              "fue ha con para se".split()),
}


def language(text: str) -> str:
    """The language a question is written in, of LANGUAGES: Chinese when a third of its letters are Chinese
    characters, else the one whose function words it uses most (English when none or a tie).

    ``language('2018年中国城镇新增就业了多少人') -> 'zh'``; ``language('Wer leitet die Fähre?') -> 'de'``;
    ``language('Who leads it?') -> 'en'``
    """
    letters = [c for c in text if c.isalpha()]
    if letters and sum(bool(HAN_RUN.match(c)) for c in letters) * 3 >= len(letters):
        return "zh"
    found = WORD.findall(text.lower())
    counts = {lang: sum(w in known for w in found) for lang, known in FUNCTION_WORDS.items()}
    best = max(counts, key=lambda lang: (counts[lang], lang == "en"))
    return best if counts[best] > counts["en"] else "en"


def code_span(text: str) -> str:
    """Text as a Markdown code span, shown exactly as written and never rendered (no tag, link or image inside
    one is live): fenced with one more backtick than its longest run of them, on one line.

    ``code_span('a.md') -> '`a.md`'``; ``code_span('x`<img>') -> '`` x`<img> ``'``
    """
    text = " ".join((text or "").split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or fence != "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"
