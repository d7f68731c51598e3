"""Errors meant for users: the message is the whole story, shown as-is by the CLI and the UI."""


class RagError(Exception):
    """Base class: str(error) says what is wrong and what to do."""


class ModelError(RagError):
    """The generation model is missing, corrupt or fails to load."""


class IndexEmptyError(RagError):
    """The index holds no chunks, so there is nothing to answer from."""


class IndexCorruptError(RagError):
    """The index folder cannot be read; rebuilding from the corpus fixes it."""


class DocumentError(RagError):
    """A document cannot be read or holds no text."""


class AddressError(DocumentError):
    """A link leads to an address that adding by link may not reach (loopback, private, link-local, …)."""


class QuestionError(RagError):
    """The question is empty or unusable."""


class SettingsError(RagError):
    """A setting is unknown or out of bounds."""


class TranslationError(RagError):
    """A passage cannot be translated: empty, already in the reader's language, or the model failed."""
