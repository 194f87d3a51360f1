"""The demo stores' SECRET_KEY."""

import os
import secrets
import tempfile
from pathlib import Path

# The demo's own key, made on first use and kept out of git (.gitignore): every process of
# one checkout (server, worker, manage.py, tests) signs and checks links with the same key,
# and no other demo's key works here.
SECRET_KEY_FILE = Path(__file__).resolve().parent.parent / ".demo-secret-key"


def demo_secret_key(path: Path) -> str:
    """SECRET_KEY from the environment, else from ``path``, made there if it is absent;
    where it cannot be written, a key for this process only."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    try:
        # Written aside and linked into place, which fails if another process was first:
        # then its key is the one.
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as new:
            new.write(key + "\n")  # mkstemp: readable by its owner only
        try:
            os.link(new.name, path)
        except FileExistsError:
            key = path.read_text().strip()
        finally:
            os.unlink(new.name)
    except OSError:
        pass
    return key
