"""What WeasyPrint pays to start, paid once: finding its libraries, and parsing C types.

- **Libraries.** WeasyPrint opens GObject, Pango, HarfBuzz and fontconfig by trying every
  platform's name for each in turn ("libgobject-2.0-0" for Windows first,
  "libgobject-2.0.so.0" last), and cffi answers each name that is not a file with
  `ctypes.util.find_library`. On Linux that runs `ldconfig -p`, then the C compiler,
  then the linker, for every name: the 13 names not found cost 0.2 to 0.3 s of the 0.5 to
  0.7 s an `import weasyprint` takes. `install_library_lookup` reads the first of those
  answers, the dynamic linker's cache, once; a name the cache does not list is looked
  for where the linker looks first (LD_LIBRARY_PATH), and the compiler is not asked.
  Where the cache cannot be read (musl has no `ldconfig -p`), Python's lookup stays.
- **C types.** Each C type WeasyPrint names (`ffi.new("PangoRectangle *")`) is parsed by
  pycparser the first time, with every typedef of its declarations in front: 3 to 9 ms a
  type, 0.1 s at a process's first render, and again for each new array length
  (`hb_codepoint_t[389]`, one per font and glyph count, at every PDF written).
  `tune_cffi` parses the fixed ones in one pass and builds arrays of a known item type
  without the parser. Both give the very type objects cffi would have built.

- **C declarations.** WeasyPrint hands cffi 450 lines of C declarations at import
  (`ffi.cdef` in weasyprint/text/ffi.py), which pycparser parses every time: 60 to 90 ms
  of the import, plus 25 ms to load pycparser. `install_compiled_declarations` gives
  WeasyPrint instead the FFI cffi itself builds from those declarations once compiled
  (cffi's "out-of-line ABI mode", pure data and no compiler): built in 0.1 ms, and its
  types are then parsed by cffi's C parser, so `tune_cffi` has nothing left to do. The
  compiled declarations are made the first time (by cffi, from the text WeasyPrint's own
  file holds), kept in flyer's cache folder under the digest of that text and of the
  cffi and Python versions, and read back as literal data, never run. Linux only: there
  WeasyPrint's list of names holds each library's own file name, which the dynamic
  linker finds by itself (the compiled FFI, unlike cffi's usual one, does not ask
  `ctypes.util.find_library`).

Anything unexpected (another cffi, another WeasyPrint) leaves cffi as it is: these only
make things faster, never different. The library lookup is installed by
`flyer/__init__.py` when WeasyPrint is first imported; `tune_cffi` by flyer.render.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

# What ctypes.util matches in `ldconfig -p`, per machine (CPython's own table).
_ABI = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit", "sparc64-64": "libc6,64bit",
        "s390x-64": "libc6,64bit", "ia64-64": "libc6,IA-64"}


@functools.cache
def _linker_cache() -> bytes:
    """`ldconfig -p` as CPython reads it (C locale), or b"" where there is none."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            return subprocess.run([ldconfig, "-p"], stdin=subprocess.DEVNULL,
                                  capture_output=True, env={"LC_ALL": "C", "LANG": "C"},
                                  timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            continue
    return b""


def _abi_type() -> str:
    bits = "-64" if sys.maxsize > 2**32 else "-32"
    return _ABI.get(os.uname().machine + bits, "libc6")


@functools.cache
def _find(name: str) -> str | None:
    match = re.search(os.fsencode(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({_abi_type()}"),
                      _linker_cache())
    if match:
        return os.fsdecode(match.group(1))
    for folder in filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        found = sorted(Path(folder).glob(f"lib{name}.so*"))
        if found:
            return found[0].name
    return None


def install_library_lookup() -> None:
    """`ctypes.util.find_library` answered from the linker's cache (Linux with glibc)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes.util

    if getattr(ctypes.util.find_library, "_flyer", False) or not _linker_cache():
        return
    original = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        return _find(name)

    find_library._flyer = True  # type: ignore[attr-defined]
    find_library.__wrapped__ = original  # type: ignore[attr-defined]
    ctypes.util.find_library = find_library


def install_compiled_declarations() -> bool:
    """Before `weasyprint.text.ffi` runs: its `cffi.FFI()` gives the compiled FFI of its
    declarations, once. True if so; False leaves cffi as it is."""
    if not sys.platform.startswith("linux") or not _linker_cache():
        return False
    try:
        import cffi

        source = _weasyprint_declarations()
        if source is None:
            return False
        arguments = _compiled(source, cffi.__version__)
        if arguments is None:
            return False
        ffi = _compiled_ffi(source, arguments)
    except Exception:  # another cffi or WeasyPrint, an unreadable cache: as usual
        return False
    usual = cffi.FFI

    def first_ffi(*args: Any, **kwargs: Any) -> Any:
        # Only WeasyPrint's own (its module asks for it as it runs), and only once.
        if args or kwargs or sys._getframe(1).f_globals.get("__name__") != WEASYPRINT_FFI:
            return usual(*args, **kwargs)
        cffi.FFI = usual
        return ffi

    cffi.FFI = first_ffi
    return True


def _weasyprint_declarations() -> str | None:
    """The text WeasyPrint's own file gives `ffi.cdef`, read without running it."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "text" / "ffi.py"
    calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr == "cdef"]
    if len(calls) != 1 or len(calls[0].args) != 1 or calls[0].keywords:
        return None
    argument = calls[0].args[0]
    if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
        return None
    return argument.value


_MODULE = "_flyer_weasyprint_ffi"
WEASYPRINT_FFI = "weasyprint.text.ffi"


def _compiled(source: str, cffi_version: str) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The compiled declarations: from the cache folder, else made and kept there."""
    import hashlib

    from flyer.cache import cache_folder

    digest = hashlib.sha256("\0".join((source, cffi_version, sys.version)).encode())
    path = cache_folder() / "cffi" / f"weasyprint-{digest.hexdigest()[:24]}.py"
    try:
        kept = _arguments(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, SyntaxError):
        kept = None
    if kept is not None:
        return kept
    text = _compile(source)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        staged.write_text(text, encoding="utf-8")
        os.replace(staged, path)
    except OSError:  # a read-only cache: made again next time
        pass
    return _arguments(text)


def _arguments(text: str) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """What cffi's module gives `_cffi_backend.FFI(…)`, read as literals (never run);
    None for anything else."""
    import ast

    body = ast.parse(text).body
    calls = [node.value for node in body
             if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)]
    if len(calls) != 1:
        return None
    call = calls[0]
    function = call.func
    if not (isinstance(function, ast.Attribute) and function.attr == "FFI"
            and isinstance(function.value, ast.Name) and function.value.id == "_cffi_backend"):
        return None
    args = tuple(ast.literal_eval(a) for a in call.args)
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    if args != (_MODULE,) or not {"_version", "_types", "_globals"} <= kwargs.keys():
        return None
    return args, kwargs


def _compile(source: str) -> str:
    """cffi's out-of-line module for `source` (pycparser runs here, once)."""
    import tempfile

    import cffi
    from cffi.recompiler import make_py_source

    ffi = cffi.FFI()
    ffi.cdef(source)
    with tempfile.TemporaryDirectory(prefix="flyer-cffi-") as folder:
        target = Path(folder) / f"{_MODULE}.py"
        make_py_source(ffi, _MODULE, str(target))  # quiet, unlike `emit_python_code`
        return target.read_text(encoding="utf-8")


def _compiled_ffi(source: str, arguments: tuple[tuple[Any, ...], dict[str, Any]]) -> Any:
    """The FFI for WeasyPrint: cffi's compiled one, whose `cdef` takes that same text."""
    import _cffi_backend

    class CompiledFFI(_cffi_backend.FFI):  # type: ignore[misc]
        def cdef(self, csource: str, override: bool = False, packed: bool = False,
                 pack: int | None = None) -> None:
            if csource != source:  # the file changed since it was read: never silently
                raise RuntimeError("WeasyPrint's C declarations changed while loading")

    args, kwargs = arguments
    return CompiledFFI(*args, **kwargs)


# The C types WeasyPrint 66-70 names in `ffi.new`/`ffi.cast` (grep "ffi\.\(new\|cast\)"
# in weasyprint/): parsed in one pass. A type missing here is parsed by cffi as usual.
C_TYPES = ("PangoRectangle *", "PangoLogAttr[]", "PangoFcFontMap *", "FcChar8 **",
           "FcResult *", "unsigned int *", "char[]", "char[4]", "hb_tag_t[100]")
# `hb_codepoint_t[389]`: an array of a known type, by its length.
_ARRAY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*(?: [A-Za-z_][A-Za-z0-9_]*)*)\[(\d{1,9})\]")


def tune_cffi(ffi: Any) -> bool:
    """Parse `C_TYPES` at once and build fixed-length arrays without the parser, on this
    cffi `FFI` (WeasyPrint's). True if done; False leaves cffi as it was."""
    import _cffi_backend

    if getattr(ffi, "_flyer_tuned", False) or isinstance(ffi, _cffi_backend.FFI):
        return True  # a compiled FFI parses types in C: nothing to tune
    try:
        from cffi import model

        with ffi._lock:
            _parse_at_once(ffi, [c for c in C_TYPES if c not in ffi._parsed_types])
        original = ffi._typeof
        items: dict[str, Any] = {}

        def typeof(cdecl: Any, consider_function_as_funcptr: bool = False) -> Any:
            if cdecl.__class__ is str and cdecl not in ffi._parsed_types:
                match = _ARRAY.fullmatch(cdecl)
                if match is not None:
                    name, length = match.group(1), int(match.group(2))
                    with ffi._lock:
                        if name not in items:
                            items[name] = ffi._parser.parse_type(name)
                        array = model.ArrayType(items[name], length)
                        ffi._parsed_types[cdecl] = (ffi._get_cached_btype(array), False)
            return original(cdecl, consider_function_as_funcptr)

        ffi._typeof = typeof
        ffi._flyer_tuned = True
    except Exception:  # another cffi: its own parser, unchanged
        return False
    return True


def _parse_at_once(ffi: Any, cdecls: list[str]) -> None:
    """cffi's `_typeof_locked` for several types with one pycparser run: the typedefs that
    cffi puts in front of every type are parsed once, not once a type."""
    if not cdecls:
        return
    parser = ffi._parser
    source = "\n".join(f"void __flyer_{n}(\n{cdecl}\n);" for n, cdecl in enumerate(cdecls))
    ast, macros = parser._parse(source)[:2]
    if macros or len(ast.ext) < len(cdecls):
        return
    for cdecl, node in zip(cdecls, ast.ext[-len(cdecls):], strict=True):
        type_, _quals = parser._get_type_and_quals(node.type.args.params[0].type)
        function = type_.is_raw_function
        if function:
            type_ = type_.as_function_pointer()
        ffi._parsed_types[cdecl] = (ffi._get_cached_btype(type_), function)


def tune_weasyprint() -> bool:
    """`tune_cffi` on WeasyPrint's FFI (imported by then)."""
    try:
        from weasyprint.text.ffi import ffi
    except ImportError:  # pragma: no cover - a WeasyPrint without it
        return False
    return tune_cffi(ffi)
