"""Every exception fieldkit defines belongs to one tree, rooted at FieldkitError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import fieldkit
from fieldkit import errors

INSTALLED_AS = ("mesh", "web", "provisioning")


def module_names() -> list[str]:
    """Every module of the installed package except ``__main__`` (importing it runs the CLI)."""
    # mesh/, web/ and provisioning/ install as fieldkit.* from folders of their own, which an
    # editable install does not put on fieldkit.__path__: walk each of them as well.
    packages = [fieldkit, *(importlib.import_module(f"fieldkit.{sub}") for sub in INSTALLED_AS)]
    infos = [
        info
        for package in packages
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
    ]
    return [info.name for info in infos if not info.name.endswith(".__main__")]


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in any module of the installed package, by full name."""
    found: dict[str, type[BaseException]] = {}
    for name in module_names():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("fieldkit."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_the_walk_sees_modules_outside_errors_py() -> None:
    modules = module_names()
    for name in ("fieldkit.wire.frame", "fieldkit.mesh.transport", "fieldkit.web.forms"):
        assert name in modules
    assert "fieldkit.wire.bits.BitError" in defined_exceptions()


def test_every_exception_is_in_errors_py_or_under_fieldkit_error() -> None:
    stray = sorted(
        name
        for name, cls in defined_exceptions().items()
        if cls.__module__ != errors.__name__ and not issubclass(cls, errors.FieldkitError)
    )
    assert stray == []


def test_every_exception_in_errors_py_is_a_fieldkit_error() -> None:
    for name, cls in inspect.getmembers(errors, inspect.isclass):
        if issubclass(cls, BaseException) and cls.__module__ == errors.__name__:
            assert issubclass(cls, errors.FieldkitError), name


def test_old_import_paths_still_work() -> None:
    from fieldkit.core.ops import InvalidOp
    from fieldkit.mesh.transport import (
        AckTimeout,
        DeliveryFailed,
        DutyCycleLimited,
        FrameTooLargeForRadio,
        RadioRejected,
        RadioUnavailable,
    )
    from fieldkit.store.group_commit import ItemFailed
    from fieldkit.web.forms import BodyError
    from fieldkit.wire.bundle_format import BundleError

    assert InvalidOp is errors.InvalidOp
    assert ItemFailed is errors.ItemFailed
    assert BundleError is errors.BundleError
    assert BodyError is errors.FormBodyError
    for cls in (RadioRejected, DutyCycleLimited, FrameTooLargeForRadio, DeliveryFailed):
        assert issubclass(cls, errors.RadioRejected)
    for cls in (AckTimeout, RadioUnavailable, RadioRejected):
        assert issubclass(cls, errors.TransportError)
