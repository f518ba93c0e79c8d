"""Domain errors raised by the indexer.

Hierarchy::

    KBError
    ├── ContentError        content could not be read (missing dir, bad export file)
    ├── BuildError          a build failed its checks; the current index is untouched
    │   └── BuildLocked     another ``kbassist index`` holds the build lock
    ├── IndexNotFound       no published build in the index directory
    ├── IndexLoadError      a build directory exists but cannot be loaded
    └── EmbedderError       the embedding backend cannot be created or loaded
"""


class KBError(Exception):
    """Base class of every error the indexer raises on purpose."""


class ContentError(KBError):
    """The content source cannot be read."""


class BuildError(KBError):
    """A build failed; nothing was published."""


class BuildLocked(BuildError):
    """Another build holds the lock on the index directory."""


class IndexNotFound(KBError):
    """There is no published build to serve."""


class IndexLoadError(KBError):
    """A build directory exists but does not load."""


class EmbedderError(KBError):
    """The embedding backend cannot be created or loaded."""
