"""The package a store installs holds the app only: no ``demo`` package comes with it.

CI runs this directory against the built wheel installed in a clean virtualenv, with
ORDER_MESSAGES_EXPECT_WHEEL=1: the app must then be imported from that install, not from
this checkout. Otherwise (an editable install) the same check of the distribution's files
runs: nothing it installs, nor any folder it puts on the path, is a top-level ``demo``."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path, PurePosixPath

import order_messages

DISTRIBUTION = "django-order-messages"
CHECKOUT = Path(__file__).resolve().parent.parent


def installed_files() -> list[PurePosixPath]:
    return [PurePosixPath(str(f)) for f in importlib.metadata.files(DISTRIBUTION) or ()]


def top_level_names() -> set[str]:
    """What the distribution makes importable at the top level: the packages and modules
    among its files, its top_level.txt, and for an editable install the packages in the
    folders its .pth files put on sys.path."""
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    names = set((distribution.read_text("top_level.txt") or "").split())
    for file in installed_files():
        first = file.parts[0]
        if first == ".." or first.endswith((".dist-info", ".data")) or file.suffix == ".pth":
            continue
        names.add(first if len(file.parts) > 1 else file.stem)
    for file in installed_files():
        if file.suffix != ".pth":
            continue
        for line in Path(distribution.locate_file(file)).read_text().splitlines():
            folder = Path(line.strip())
            if not line.strip() or line.startswith(("#", "import")) or not folder.is_dir():
                continue
            names |= {
                child.stem
                for child in folder.iterdir()
                if (child / "__init__.py").exists() or child.suffix == ".py"
            }
    return names


def test_installed_package():
    names = top_level_names()

    # The listing finds the app, so it would find a demo package beside it.
    assert "order_messages" in names
    assert "demo" not in names
    assert not [f for f in installed_files() if f.parts[0] == "demo"]

    if os.environ.get("ORDER_MESSAGES_EXPECT_WHEEL") == "1":
        location = Path(order_messages.__file__).resolve()
        assert {"site-packages", "dist-packages"} & set(location.parts), location
        assert not location.is_relative_to(CHECKOUT / "src"), location
        files = {str(f) for f in installed_files()}
        for needed in (
            "order_messages/__init__.py",
            "order_messages/contrib/oscar/adapter.py",
            "order_messages/contrib/oscar/templates/oscar/layout.html",
            "order_messages/contrib/oscar/templates/oscar/customer/order/order_detail.html",
            "order_messages/contrib/oscar/static/order_messages/oscar.css",
            "order_messages/locale/de/LC_MESSAGES/django.mo",
        ):
            assert needed in files, f"the wheel lacks {needed}"
        # The demo shop these tests run comes from the checkout, not from the install.
        import demo

        assert Path(demo.__file__).resolve().parent == CHECKOUT / "demo"
