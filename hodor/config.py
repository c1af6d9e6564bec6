"""Typed configuration: ``params.yaml`` -> frozen dataclasses, once, at the edge.

Every section of ``params.yaml`` has a frozen dataclass that lives next to the code it configures
(``hodor.model.ModelParams``, ``hodor.train.TrainParams``, ...). This module only knows how to build any
such dataclass strictly from plain YAML data: unknown keys, missing keys and values of the wrong type are
errors that name the file and the dotted key path, so a typo in ``params.yaml`` never silently falls back
to a default. Range checks belong to each dataclass's ``__post_init__`` (raise ``ValueError``); the loader
re-raises them as :class:`ParamsError` with the key path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from hodor.errors import InputError

T = TypeVar("T")


class ParamsError(InputError):
    """A params file (or dict) does not fit the dataclass it configures."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Check/convert one YAML value against a type annotation; ``where`` is the dotted key path."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except ParamsError as err:
                errors.append(str(err))
        raise ParamsError(f"{where}: {value!r} is not any of {', '.join(_type_name(a) for a in args)}")
    if origin is typing.Literal:
        if value not in args:
            raise ParamsError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ParamsError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ParamsError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(
                _convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, got {value!r}")
        key_tp, val_tp = args if args else (Any, Any)
        return {
            _convert(k, key_tp, f"{where}.{k}"): _convert(v, val_tp, f"{where}.{k}") for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            # YAML reads "1e-4" (no dot) as a string; accept numeric strings for floats only.
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise ParamsError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(f"{where}: expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ParamsError(f"{where}: expected a path string, got {value!r}")
        return Path(value)
    raise ParamsError(f"{where}: unsupported annotation {tp!r}")  # a bug in a dataclass, not in params


def _build(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, dict):
        raise ParamsError(f"{where or '<top level>'}: expected a mapping for {cls.__name__}, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ParamsError(
            f"unknown key(s) {', '.join(prefix + k for k in unknown)}; valid keys here: {', '.join(fields)}"
        )
    missing = [n for n in fields if n not in data]
    if missing:
        prefix = f"{where}." if where else ""
        raise ParamsError(f"missing key(s) {', '.join(prefix + k for k in missing)}")
    kwargs = {n: _convert(data[n], hints[n], f"{where}.{n}" if where else n) for n in fields}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as err:
        raise ParamsError(f"{where or '<top level>'}: {err}") from err


def from_dict(cls: type[T], data: Any, *, source: str = "params") -> T:
    """Build dataclass ``cls`` from plain data, strictly (every key required, no unknown key)."""
    try:
        return _build(cls, data, "")
    except ParamsError as err:
        raise ParamsError(f"{source}: {err}") from None


def to_dict(obj: Any) -> Any:
    """The inverse of :func:`from_dict`: plain YAML-able data (paths as strings, tuples as lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with an error naming the file when it is unreadable or not a mapping."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    return data


def read_section(path: str | Path, *keys: str) -> Any:
    """The raw value of section ``keys`` of a params file, with an error naming the missing section."""
    data: Any = read_yaml(path)
    where = []
    for key in keys:
        where.append(key)
        if not isinstance(data, dict) or key not in data:
            raise ParamsError(f"{path}: missing section {'.'.join(where)}")
        data = data[key]
    return data


def _without(data: Any, dotted: str) -> Any:
    """``data`` minus the key at ``dotted`` (``"sparse.nproc_per_node"``), copied, never changed in place."""
    head, _, rest = dotted.partition(".")
    if not isinstance(data, dict) or head not in data:
        return data
    if not rest:
        return {k: v for k, v in data.items() if k != head}
    return {**data, head: _without(data[head], rest)}


def load_section(cls: type[T], path: str | Path, *keys: str, without: Sequence[str] = ()) -> T:
    """Build ``cls`` from the section ``keys`` (e.g. ``"model"``) of a params file.

    A stage reads only the sections it declares under ``params:`` in ``dvc.yaml``, so that DVC's
    dependency tracking and what the code reads agree. ``without``: dotted keys inside the section that
    another reader owns (launch keys, :mod:`hodor.launch`); they are left out, if present.
    """
    data = read_section(path, *keys)
    for dotted in without:
        data = _without(data, dotted)
    try:
        return _build(cls, data, ".".join(keys))
    except ParamsError as err:
        raise ParamsError(f"{path}: {err}") from None
